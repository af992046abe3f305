"""The chat pipeline on a real index of a corpus slice: grounding, abstention, follow-ups, audience."""

from __future__ import annotations

import pytest

from guidechat.chat.disclaimer import DISCLAIMER
from guidechat.chat.render import render_markdown
from guidechat.chat.verify import claims, unresolved_markers, unsupported_claims
from guidechat.types import Answer, Session

pytestmark = pytest.mark.slow

MALE = "https://www.cancer.gov/types/breast/hp/male-breast-treatment-pdq"
PREGNANCY = "https://www.cancer.gov/types/breast/hp/pregnancy-breast-treatment-pdq"
TESTIS_HP = "https://www.cancer.gov/types/testicular/hp/testicular-screening-pdq"
TESTIS_PATIENT = "https://www.cancer.gov/types/testicular/patient/testicular-screening-pdq"


def cited_urls(answer: Answer) -> set[str]:
    return {c.url for c in answer.citations}


def assert_grounded(answer: Answer) -> None:
    assert not answer.abstained
    assert answer.citations
    assert claims(answer.markdown), answer.markdown
    assert unresolved_markers(answer) == []
    assert unsupported_claims(answer) == [], answer.markdown
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_answer_cites_only_what_its_passages_say(pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = pipeline.ask("Is MRI safe for staging breast cancer during pregnancy?", Session())
    assert_grounded(answer)
    assert PREGNANCY in cited_urls(answer)
    assert answer.markdown.startswith("**Bottom line:**")
    retrieved = {p.chunk.id for p in answer.passages}
    assert {c.chunk_id for c in answer.citations} <= retrieved
    assert all(c.title and c.section and c.updated and c.url.startswith("https://") for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "How should I titrate basal insulin in type 2 diabetes?",
        "What high-dose amoxicillin regimen should I use for acute otitis media in a 2-year-old?",
        "Which antibiotic should I give for acute otitis media in a child?",
    ],
)
def test_abstains_when_the_documents_do_not_answer(pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = pipeline.ask(question, Session())
    assert answer.abstained
    assert answer.citations == ()
    assert "do not address" in answer.markdown
    assert answer.related, "an abstention lists the nearest related sources"
    assert answer.disclaimer == DISCLAIMER


def test_abstains_after_a_covered_question_in_the_same_session(pipeline) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    assert not pipeline.ask("What is the utility of MRI in stage IV breast cancer?", session).abstained
    answer = pipeline.ask("How should I titrate basal insulin in type 2 diabetes?", session)
    assert answer.query == answer.question, "a question that stands on its own carries no topic"
    assert answer.abstained


def test_follow_up_carries_the_topic(pipeline) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    first = pipeline.ask("What is the utility of MRI in stage IV breast cancer?", session)
    assert_grounded(first)
    follow = pipeline.ask("And in men?", session)
    assert follow.query != follow.question and "breast" in follow.query.lower()
    assert_grounded(follow)
    assert follow.citations[0].url == MALE, "the follow-up's own words (men) lead"
    assert len(session.turns) == 2


def test_sessions_do_not_share_history(pipeline) -> None:  # type: ignore[no-untyped-def]
    one, two = Session(), Session()
    pipeline.ask("How is breast cancer treated during pregnancy?", one)
    answer = pipeline.ask("And in men?", two)
    assert answer.query == "And in men?"
    assert len(one.turns) == 1 and len(two.turns) == 1


def test_audience_prefers_its_own_version(pipeline) -> None:  # type: ignore[no-untyped-def]
    question = "Should men be screened for testicular cancer?"
    clinician = pipeline.ask(question, Session(), "clinician")
    patient = pipeline.ask(question, Session(), "patient")
    assert_grounded(clinician)
    assert_grounded(patient)
    assert clinician.citations[0].url == TESTIS_HP
    assert patient.citations[0].url == TESTIS_PATIENT
    assert patient.markdown.startswith("**In short:**")


def test_audience_falls_back_to_the_other_version(pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = pipeline.ask("How is breast cancer in men treated?", Session(), "patient")
    assert_grounded(answer)
    assert MALE in cited_urls(answer), "no patient summary covers it, so the clinician one answers"


def test_every_answer_carries_the_disclaimer_and_timings(pipeline) -> None:  # type: ignore[no-untyped-def]
    answered = pipeline.ask("Should men be screened for testicular cancer?", Session())
    abstained = pipeline.ask("What is the capital of France?", Session())
    assert not answered.abstained and abstained.abstained
    for answer in (answered, abstained):
        assert answer.disclaimer == DISCLAIMER
        assert render_markdown(answer).endswith(f"*{DISCLAIMER}*")
        assert "verify against the primary sources" in answer.disclaimer
        assert {"condense", "retrieve", "compose", "total"} <= set(answer.timings_ms)
        data = answer.to_json()
        fields = {"question", "query", "markdown", "citations", "abstained", "disclaimer", "timings_ms"}
        assert set(data) >= fields


def test_empty_question_is_refused(pipeline) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="empty"):
        pipeline.ask("   ", Session())


def test_an_abstention_never_carries_citations(pipeline) -> None:  # type: ignore[no-untyped-def]
    for question in ("What is the capital of France?", "Which statin should I start after an NSTEMI?"):
        answer = pipeline.ask(question, Session())
        assert answer.abstained
        assert answer.citations == () and "[1]" not in answer.markdown


def test_single_retriever_baselines_rank_with_one_retriever(slice_home) -> None:  # type: ignore[no-untyped-def]
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings

    for mode, rank in (("bm25", "bm25_rank"), ("dense", "dense_rank")):
        baseline = ChatPipeline.from_settings(Settings(home=slice_home, retrieval_mode=mode))
        passages = baseline.ask("Should men be screened for testicular cancer?", Session()).passages
        assert passages and all(getattr(p, rank) is not None for p in passages), mode


def test_sentences_are_embedded_as_they_read(pipeline, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A glossary link's address is not read by the model (nor paid for): the answer still quotes the link."""
    embedder = pipeline.home.embedder
    seen: list[str] = []
    real = embedder.embed_sentences

    def recording(texts: list[str]):  # type: ignore[no-untyped-def]
        seen.extend(texts)
        return real(texts)

    monkeypatch.setattr(embedder, "embed_sentences", recording)
    answer = pipeline.ask("Why is screening for testicular cancer not recommended?", Session(), "patient")
    assert_grounded(answer)
    assert "](https://" in answer.markdown, "the quoted sentences keep their links"
    assert seen and not any("](" in t or "https://" in t for t in seen)


def test_a_fresh_pipeline_knows_every_chunks_audience(slice_home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From the manifest: the scan that routes by audience reads no metadata from Chroma for them."""
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome

    fresh = ChatPipeline(IndexHome(Settings(home=slice_home)))
    collection = fresh.home.store._collection
    reads: list[object] = []
    real = collection.get

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(kwargs.get("include"))
        return real(*args, **kwargs)

    monkeypatch.setattr(collection, "get", counting)
    assert not fresh.ask("Should men be screened for testicular cancer?", Session()).abstained
    assert ["metadatas"] not in reads, "an audience was fetched"
    assert reads, "the chunks themselves were read"


def test_table_and_figure_captions_are_not_quoted_as_sentences() -> None:
    from guidechat.chat.compose import sentence_units

    text = (
        "Table 1. Standard Treatment Options for Childhood Ependymoma\n"
        "| Treatment Group | Standard Treatment Options |\n"
        "Treatment of childhood ependymoma begins with surgery. Table 1 lists the options.\n"
        "Figure 1. Anatomy of the female breast. The nipple and areola are shown.\n"
        "**Figure 2.** Stage IIA breast cancer.\n"
        "- Fig. 3: a chart\n"
        "Tables of doses are in the appendix."
    )
    assert sentence_units(text) == [
        "Treatment of childhood ependymoma begins with surgery.",
        "Table 1 lists the options.",
        "Tables of doses are in the appendix.",
    ]


def test_pointers_to_other_pages_are_not_quoted_as_sentences() -> None:
    from guidechat.chat.compose import lexical_candidates, sentence_units
    from guidechat.chat.terms import TermWeights
    from guidechat.types import Chunk, DocMeta, Passage

    text = (
        "[General information](https://www.cancer.gov/research/participate/clinical-trials) about clinical trials "
        "is also available.\n"
        "- [Drugs Approved for Chronic Lymphocytic Leukemia](https://www.cancer.gov/about-cancer/treatment/drugs)\n"
        "Learn more about testicular cancer at [Testicular Cancer Treatment](https://www.cancer.gov/types/t).\n"
        "[Hairy cell leukemia](https://www.cancer.gov/g?id=1) is a [cancer](https://www.cancer.gov/g?id=2) of the "
        "[blood](https://www.cancer.gov/g?id=3) and [bone marrow](https://www.cancer.gov/g?id=4)."
    )
    doc = DocMeta(title="Doc", url="https://example.org/doc")
    passage = Passage(Chunk(id="c", doc_id="d", text=text, doc=doc, section=("S",)), score=1.0)
    quotable = [c.text for c in lexical_candidates("hairy cell leukemia", [passage], TermWeights(lambda t: 1, 10))]
    # the glossary-linked claim stays (6 of its 9 words are link text); the three pointers go
    assert quotable == [sentence_units(text)[3]]
