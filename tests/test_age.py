"""Age groups: which group a question names, which group a guideline is titled for, and the retriever counting the
other group's guidelines at a lower weight (real index of the adult and childhood ALL summaries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidechat.index.age import question_age_group, title_age_group


@pytest.mark.parametrize(
    ("question", "group"),
    [
        ("What are the treatments for Adult Acute Lymphoblastic Leukemia?", "adult"),
        ("What causes Childhood Brain and Spinal Cord Tumors?", "child"),
        ("My 6-year-old son was just diagnosed with ALL.", "child"),
        ("A 9-month-old infant with a neuroblastoma", "child"),
        ("78-year-old man with severe COPD and T1 N0 NSCLC", "adult"),
        ("Pediatric dosing of dexrazoxane?", "child"),
        ("Cancer in adolescents and young adults", None),  # either group's summaries
        ("Do adults and children get the same ALL treatment?", None),
        ("Should men be screened for testicular cancer?", None),
        ("Which kidney cancers run in families?", None),  # "kid" only as a whole word
    ],
)
def test_the_group_a_question_names(question: str, group: str | None) -> None:
    assert question_age_group(question) == group


def test_the_group_a_title_is_for() -> None:
    assert title_age_group("Childhood Hodgkin Lymphoma Treatment (PDQ®)–Patient Version") == "child"
    assert title_age_group("Pediatric Gastric Cancer Treatment (PDQ®)") == "child"
    assert title_age_group("Adult Central Nervous System Tumors Treatment (PDQ®)–Patient Version") == "adult"
    assert title_age_group("Cognitive Impairment in Adults With Cancer (PDQ®)") == "adult"
    assert title_age_group("Levels of Evidence for Adult and Pediatric Cancer Treatment Studies (PDQ®)") is None
    assert title_age_group("Hodgkin Lymphoma Treatment (PDQ®)–Patient Version") is None


@pytest.mark.slow
def test_the_other_groups_guidelines_count_at_the_weight(all_pair_home: Path) -> None:
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome
    from guidechat.index.retriever import HybridRetriever

    settings = Settings(home=all_pair_home)
    home = IndexHome(settings)
    bm25 = home.load_bm25()

    def ranked(question: str, weight: float) -> list[tuple[str, str, float]]:
        tuned = settings.model_copy(update={"other_age_group_weight": weight})
        passages = HybridRetriever(home.store, bm25, home.embedder, tuned).retrieve(question, "patient").passages
        return [(p.chunk.id, p.chunk.doc.title, p.score) for p in passages]

    adult_question = "What are the treatments for adult acute lymphoblastic leukemia?"
    child_question = "What are the treatments for childhood acute lymphoblastic leukemia?"
    assert not ranked(adult_question, 0.5)[0][1].startswith("Childhood")
    assert ranked(child_question, 0.5)[0][1].startswith("Childhood")
    for question in (adult_question, child_question):
        flat = {cid: score for cid, _, score in ranked(question, 1.0)}
        weighed = ranked(question, 0.5)
        assert {cid for cid, _, _ in weighed} == set(flat), "the same passages"
        halved = 0
        for cid, title, score in weighed:
            other = title.startswith("Childhood") and question == adult_question
            assert score == pytest.approx(flat[cid] * 0.5 if other else flat[cid])
            halved += other
        assert halved or question == child_question, "the childhood summary was among the adult question's passages"
