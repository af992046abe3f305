"""Acronyms spelled out as the guidelines define them: the long form found by hand-made cases, and on a real index
of the adult and childhood ALL summaries, where "ALL" reads as the word "all" to the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidechat.index.acronyms import long_form, spelled_out


def test_the_long_form_is_the_words_whose_initials_spell_it() -> None:
    texts = [
        "Childhood acute lymphoblastic leukemia (ALL) is a cancer of the blood.",
        "Adults with acute lymphoblastic leukemia (ALL; also called acute lymphocytic leukemia) are treated ...",
        "Treatment of ALL (see below) has phases.",  # no long form before it
        "Stage I non-small cell lung cancer (NSCLC) is treated with surgery.",
    ]
    assert long_form("ALL", texts) == "acute lymphoblastic leukemia"
    assert long_form("NSCLC", texts) == "non small cell lung cancer"
    assert long_form("AML", texts) is None
    assert long_form("HER2", ["human epidermal growth factor receptor 2 (HER2)"]) is None, "initials do not spell it"
    majority = ["tumor treating (TT)", "targeted therapy (TT)", "targeted therapy (TT)"]
    assert long_form("TT", majority) == "targeted therapy"


def test_spelled_out_once_and_only_where_defined() -> None:
    known = {"ALL": "acute lymphoblastic leukemia"}
    assert spelled_out("Is ALL curable? How is ALL treated?", known.get) == (
        "Is ALL (acute lymphoblastic leukemia) curable? How is ALL treated?"
    )
    assert spelled_out("What is AML?", known.get) == "What is AML?"
    assert spelled_out("ALL, or acute lymphoblastic leukemia?", known.get) == "ALL, or acute lymphoblastic leukemia?"


@pytest.mark.slow
def test_all_is_searched_as_acute_lymphoblastic_leukemia(all_pair_home: Path) -> None:
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome
    from guidechat.index.retriever import HybridRetriever

    settings = Settings(home=all_pair_home)
    home = IndexHome(settings)
    retriever = HybridRetriever(home.store, home.load_bm25(), home.embedder, settings)
    assert retriever.long_form("ALL") == "acute lymphoblastic leukemia"
    assert retriever.long_form("CNS") is None, "read as itself ('cns'): nothing to add"

    asked: list[str] = []
    real = home.embedder.embed_query

    def recording(text: str) -> list[float]:
        asked.append(text)
        return real(text)

    home.embedder.embed_query = recording  # type: ignore[method-assign]
    retriever.retrieve("My son was just diagnosed with ALL. What happens in each phase?", "patient")
    assert asked == ["My son was just diagnosed with ALL (acute lymphoblastic leukemia). What happens in each phase?"]
    off = HybridRetriever(home.store, home.load_bm25(), home.embedder,
                          settings.model_copy(update={"spell_out_acronyms": False}))
    off.retrieve("diagnosed with ALL", "patient")
    assert asked[-1] == "diagnosed with ALL"
