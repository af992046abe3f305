"""Trust features (#7) on real PDQ text: dates and old sources, levels of evidence with the corpus's own legend,
documents that differ or say the same, follow-up questions, restricted questions, feedback, export, the library."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from guidechat.chat.disagree import AGAINST, RECOMMENDS, ages_named, difference, recommendation
from guidechat.chat.evidence import legend_from_chunks, sentence_evidence
from guidechat.chat.export import export_markdown
from guidechat.chat.recency import is_stale
from guidechat.chat.render import render_markdown
from guidechat.chat.render_trust import DIFFER_BOTTOM
from guidechat.chat.suggest import neighbours, question_for
from guidechat.chat.verify import claims, unresolved_markers, unsupported_claims
from guidechat.types import Answer, Scope, Session
from tests.conftest import CORPUS, copy_home, corpus_file
from tests.trust_docs import CERVICAL, CERVICAL_PREGNANCY, LEVELS_OF_EVIDENCE

NHL = "https://www.cancer.gov/types/lymphoma/hp/non-hodgkin-lymphoma-treatment-during-pregnancy-pdq"
X714 = "https://www.cancer.gov/about-cancer/treatment/cam/hp/714-x-pdq"
HDGC = "https://www.cancer.gov/publications/pdq/information-summaries/genetics/hereditary-diffuse-gastric-cancer-hp-pdq"
BREAST_SCREENING = "https://www.cancer.gov/types/breast/hp/breast-screening-pdq"
CERVICAL_URL = "https://www.cancer.gov/types/cervical/hp/cervical-treatment-pdq"
CERVICAL_PREGNANCY_URL = "https://www.cancer.gov/types/cervical/hp/treatment-during-pregnancy-pdq"
TESTIS_PATIENT = "https://www.cancer.gov/types/testicular/patient/testicular-screening-pdq"
NHL_QUESTION = "How should non-Hodgkin lymphoma be treated during pregnancy?"
MAMMOGRAPHY = "At what age should mammography screening begin?"
CERVICAL_AGE = "At what age is cervical cancer most often diagnosed?"


def assert_grounded(answer: Answer) -> None:
    assert not answer.abstained and answer.citations
    assert unresolved_markers(answer) == []
    assert unsupported_claims(answer) == [], answer.markdown


# --------------------------------------------------------------------------- pure parts, on corpus sentences


def test_recommendations_and_ages_in_real_sentences() -> None:
    nccn = recommendation("NCCN recommends that annual mammography screenings begin at age 30 years.")
    uspstf = recommendation(
        "In response to these findings and to address inequities in breast cancer outcomes, the USPSTF recommended "
        "that all average-risk women initiate screening at age 40 years (instead of at age 50 years, as previously "
        "recommended) and be screened every 2 years until age 74 years."
    )
    fda = recommendation(
        "A U.S. Food and Drug Administration Safety Communication issued in September 2016 recommends against using "
        "currently offered screening tests to screen for ovarian cancer in any population of women."
    )
    genetics = recommendation("National guidelines in the United States and international guidelines recommend "
                              "offering genetic testing to all women with ovarian cancer.")
    assert nccn is not None and nccn.stance == RECOMMENDS and nccn.ages == {30}
    assert uspstf is not None and uspstf.ages == {40, 50, 74}
    assert fda is not None and fda.stance == AGAINST
    assert genetics is not None and genetics.stance == RECOMMENDS and not genetics.ages
    assert difference(nccn, uspstf) == "they recommend it for different ages"
    assert difference(genetics, fda) == "one recommends, the other advises against"
    assert difference(genetics, nccn) is None  # no ages on one side: nothing to compare
    assert recommendation("Cervical cancer is relatively rare but is diagnosed most frequently in women aged 35 to "
                          "44 years.") is None  # a finding, not a recommendation
    assert ages_named("between the ages of 35 and 40 years") == {35, 40}
    assert ages_named("For men aged 25 years or older") == {25}
    assert ages_named("ultrasonography in men younger than 25 years") == {25}


def test_same_claim_needs_the_words_to_agree() -> None:
    from guidechat.chat.trust import same_claim

    cervical = "Cervical cancer is relatively rare but is diagnosed most frequently in women aged 35 to 44 years."
    assert same_claim(cervical, cervical)
    assert not same_claim("Anatomy of the male breast.", "Anatomy of the female breast.")  # captions, 2 summaries
    assert same_claim(  # the same sentence in two CAM summaries, one with a glossary link
        "Separate levels of evidence scores are assigned to qualifying human studies on the basis of statistical "
        "strength of the study design and scientific strength of the treatment outcomes measured.",
        "Separate levels of evidence scores are assigned to qualifying human studies on the basis of statistical "
        "strength of the study design and [scientific](https://www.cancer.gov/Common/PopUps/popDefinition.aspx?"
        "id=44724&version=healthprofessional) strength of the treatment outcomes measured.")
    assert not same_claim(cervical, cervical.replace("35 to 44", "45 to 54"))
    assert not same_claim("Genetic testing is recommended in patients older than 50 years.",
                          "Genetic testing is not recommended in patients older than 50 years.")


def test_stale_after_the_configured_years() -> None:
    today = dt.date(2026, 11, 28)
    assert is_stale("2018-08-22", 5, today)
    assert not is_stale("2025-02-18", 5, today)
    assert is_stale("2025-02-18", 1, today)
    assert not is_stale("2021-11-28", 5, today) and is_stale("2021-11-27", 5, today)
    assert not is_stale("", 5, today) and not is_stale("not a date", 5, today)


def test_sentence_evidence_is_its_paragraphs_code() -> None:
    passage = (
        "According to anecdotal case series, most non-Hodgkin lymphomas (NHLs) in pregnant patients are aggressive. "
        "One-half of the patients received therapy antepartum. (Level of evidence C3)\n"
        "Treatment may be delayed for women with an indolent non-Hodgkin lymphoma."
    )
    assert sentence_evidence("One-half of the patients received therapy antepartum.", [passage]) == ("C3",)
    assert sentence_evidence("Treatment may be delayed for women with an indolent non-Hodgkin lymphoma.",
                             [passage]) == ()


def test_neighbouring_sections_nearest_first() -> None:
    outline = [("A",), ("A", "a1"), ("A", "a2"), ("A", "a3"), ("B",), ("C",), ("C", "c1")]
    assert neighbours(("A", "a2"), outline) == [("A", "a1"), ("A", "a3")]
    assert neighbours(("C", "c1"), outline) == [("B",), ("A",)]  # no sibling: the parent's, nearest first
    assert neighbours(("B",), outline) == [("A",), ("C",)] or neighbours(("B",), outline) == [("C",), ("A",)]
    title = "714-X (PDQ®)–Health Professional Version"
    assert question_for("History", title) == "What does the guidance on 714-X say about “History”?"
    nhl = "Non-Hodgkin Lymphoma Treatment During Pregnancy (PDQ®)–Health Professional Version"
    assert question_for("Treatment of Indolent Non-Hodgkin Lymphoma During Pregnancy", nhl) == (
        "What does the guidance say about “Treatment of Indolent Non-Hodgkin Lymphoma During Pregnancy”?")


# --------------------------------------------------------------------------- the pipeline on the trust index

@pytest.mark.slow
def test_legend_is_read_from_the_indexed_levels_of_evidence_page(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    legend = trust_pipeline.legend()
    page = corpus_file(LEVELS_OF_EVIDENCE).read_text(encoding="utf-8")
    defined = dict(re.findall(r"^- \*\*([A-D][1-4]?) Evidence\.\*\* (.+)$", page, re.M))
    assert set(defined) == {"A1", "A2", "A3", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "D"}
    assert {code: e.definition for code, e in legend.items()} == defined
    assert all(e.source_url.endswith("/levels-evidence/treatment") for e in legend.values())
    # nothing else in the index defines a code
    others = [c for c in trust_pipeline.home.store.all_chunks() if "levels-evidence" not in c.doc.url]
    assert legend_from_chunks(others) == {}


@pytest.mark.slow
def test_evidence_badges_dates_and_legend(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask(NHL_QUESTION, Session())
    assert_grounded(answer)
    assert all(c.updated == "2025-02-18" and not c.stale for c in answer.citations if c.url == NHL)
    coded = [c for c in answer.citations if c.evidence]
    assert coded and all(c.evidence == ("C3",) for c in coded)
    assert [e.code for e in answer.trust.legend] == ["C3"]
    shown = render_markdown(answer)
    # each sentence quoted from the C3 paragraph carries the badge, and only those
    c3_text = " ".join(c.text for c in coded)
    for claim in claims(answer.markdown):
        quoted_from_c3 = any(claim.text in line and "(Level of evidence C3)" in line for line in c3_text.split("\n"))
        line = next(x for x in shown.split("\n") if claim.text in x)
        assert ("`LoE C3`" in line) == quoted_from_c3, line
    assert "`LoE C3`" in shown.split("**References**")[0]
    assert "**Levels of evidence**" in shown and answer.trust.legend[0].definition in shown
    data = answer.to_json()
    assert data["citations"][0]["stale"] is False
    assert any(c["evidence"] == ["C3"] for c in data["citations"])  # type: ignore[index]


@pytest.mark.slow
def test_old_source_is_flagged(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask("What is 714-X?", Session())
    assert_grounded(answer)
    assert {c.url for c in answer.citations} == {X714}
    assert all(c.updated == "2018-08-22" and c.stale for c in answer.citations)
    shown = render_markdown(answer)
    assert "**⚠ Older source:**" in shown and "last updated 2018-08-22" in shown and "after 5 years" in shown
    assert shown.count("⚠ older source") == len(answer.citations)  # each reference too
    # the age is a setting: at 10 years, 2018 is not old yet (before 2028-08-22)
    from guidechat.chat.trust import TrustReview

    lenient = TrustReview(trust_pipeline.settings.model_copy(update={"stale_after_years": 10}),
                          trust_pipeline.home.embedder.embed_sentences, trust_pipeline.legend,
                          today=lambda: dt.date(2026, 11, 28))
    again = lenient.annotate(answer, None, answer.passages)
    assert not any(c.stale for c in again.citations) and "Older source" not in render_markdown(again)


@pytest.mark.slow
def test_documents_that_differ_are_shown_side_by_side(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask(MAMMOGRAPHY, Session())
    assert_grounded(answer)
    assert answer.trust.disagreements, answer.markdown
    point = answer.trust.disagreements[0]
    by_url = {s.url: s for s in point.sides}
    assert {HDGC, BREAST_SCREENING} <= set(by_url)
    assert by_url[HDGC].updated == "2024-10-25" and by_url[BREAST_SCREENING].updated == "2025-04-10"
    assert "different ages" in point.reason
    cited = {c.n: c for c in answer.citations}
    for side in point.sides:  # each side is a quote of the passage its number cites
        assert cited[side.n].url == side.url
        assert " ".join(side.text.split()) in " ".join(cited[side.n].text.split())
    shown = render_markdown(answer)
    table = shown.split("**The sources differ:**")[1].split("**References**")[0]
    header = table.strip().split("\n")[2]
    assert "Hereditary Diffuse Gastric Cancer" in header and "updated 2024-10-25" in header
    assert "Breast Cancer Screening" in header and "updated 2025-04-10" in header
    body = shown.split("**The sources differ:**")[0]
    for side in point.sides:  # not blended into the body as well
        assert side.text not in body
    if any(side.text in answer.markdown.split("\n")[0] for side in point.sides):
        assert DIFFER_BOTTOM in body


@pytest.mark.slow
def test_the_newer_of_two_documents_saying_the_same_is_quoted(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask(CERVICAL_AGE, Session())
    assert_grounded(answer)
    sentence = "Cervical cancer is relatively rare but is diagnosed most frequently in women aged 35 to 44 years."
    quoting = [c for c in answer.citations if sentence in c.text and f"{sentence} [{c.n}]" in answer.markdown]
    assert [c.url for c in quoting] == [CERVICAL_URL]  # updated 2025-05-13, not the pregnancy summary's 2025-03-21
    assert answer.trust.preferred
    p = answer.trust.preferred[0]
    assert (p.kept_updated, p.dropped_updated, p.dropped_url) == ("2025-05-13", "2025-03-21", CERVICAL_PREGNANCY_URL)
    shown = render_markdown(answer)
    assert "**Newer source preferred:**" in shown and "2025-03-21" in shown and "2025-05-13" in shown


@pytest.mark.slow
def test_reconcile_swaps_in_the_newer_twin(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The seam alone: the composer chose the older document's sentence; the newer one's twin replaces it."""
    from guidechat.chat.compose import Candidate
    from guidechat.types import Chunk, DocMeta, Passage

    texts = {}
    for relative, url in ((CERVICAL_PREGNANCY, CERVICAL_PREGNANCY_URL), (CERVICAL, CERVICAL_URL)):
        updated = re.search(r"^updated: (\S+)", corpus_file(relative).read_text(encoding="utf-8"), re.M)
        assert updated is not None
        texts[url] = updated.group(1)
    sentence = "Cervical cancer is relatively rare but is diagnosed most frequently in women aged 35 to 44 years."
    passages = [
        Passage(Chunk(f"c{i}", f"d{i}", sentence, DocMeta(title=url, url=url, updated=day), ("General",)), 1.0)
        for i, (url, day) in enumerate(texts.items())
    ]
    older = Candidate(sentence, 0, 0, 0.9)
    newer = Candidate(sentence, 1, 0, 0.8)
    done = trust_pipeline.trust.reconcile([older], [older, newer], passages)
    assert done.chosen == [newer]
    assert done.preferred == [(newer, older)]
    both = trust_pipeline.trust.reconcile([older, newer], [older, newer], passages)
    assert both.chosen == [newer] and both.preferred == [(newer, older)]  # said once, by the newer


@pytest.mark.slow
def test_follow_ups_are_the_cited_sections_neighbours(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask(NHL_QUESTION, Session())
    assert 2 <= len(answer.followups) <= 3
    outline = trust_pipeline.suggester.outline(answer.passages[0].chunk.doc.source_path)
    headings = {h for s in outline for h in s}
    cited = {h for c in answer.citations for h in c.section.split(" > ")}
    for q in answer.followups:
        heading = re.search(r"“(.+)”", q)
        assert heading and heading.group(1) in headings and heading.group(1) not in cited, q
    followup = answer.followups[0]
    asked = trust_pipeline.ask(followup, Session())
    assert_grounded(asked)
    wanted = re.search(r"“(.+)”", followup).group(1)  # type: ignore[union-attr]
    top = asked.passages[: trust_pipeline.settings.top_k]
    assert any(wanted in p.chunk.section for p in top), (followup, [p.chunk.section for p in top])
    assert NHL in {c.url for c in asked.citations}


@pytest.mark.slow
def test_questions_restricted_to_documents_or_an_audience(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    docs = trust_pipeline.manifest().documents
    x714 = next(k for k, e in docs.items() if e.url == X714)
    free = trust_pipeline.ask("What is the role of tamoxifen in male breast cancer?", Session())
    assert X714 not in {c.url for c in free.citations}
    session = Session(scope=Scope(documents=frozenset({x714})))
    only = trust_pipeline.ask("Is there evidence that 714-X helps people with cancer?", session)
    assert only.citations and {c.url for c in only.citations} == {X714}
    assert {p.chunk.doc.url for p in only.passages} == {X714}
    patients = trust_pipeline.ask("Is there a screening test for testicular cancer?",
                                  Session(scope=Scope(audience="patient")))
    assert patients.audience == "patient"
    assert {p.chunk.doc.audience for p in patients.passages} <= {"patient", None}
    assert TESTIS_PATIENT in {c.url for c in patients.citations}


@pytest.mark.slow
def test_feedback_is_an_eval_case(trust_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from guidechat.eval.runner import run_cases
    from guidechat.eval.suite import load_suite
    from guidechat.feedback import FILE_NAME, record_feedback

    good = trust_pipeline.ask("What is 714-X?", Session())
    record_feedback(tmp_path, good, "up")
    record_feedback(tmp_path, good, "wrong_citation")
    abstained = trust_pipeline.ask("How should I titrate basal insulin in type 2 diabetes?", Session())
    assert abstained.abstained
    record_feedback(tmp_path, abstained, "up")
    lines = [json.loads(line) for line in (tmp_path / FILE_NAME).read_text(encoding="utf-8").splitlines()]
    assert [line["feedback"] for line in lines] == ["up", "wrong_citation", "up"]
    assert lines[1]["needs_review"] is True and lines[1]["wrong_urls"] == [X714]
    cases, errors = load_suite(tmp_path / FILE_NAME)
    assert [c.turns[0].expect for c in cases] == ["answer", "abstain"]
    assert cases[0].turns[0].gold_urls == (X714,)
    assert len(errors) == 1 and errors[0].line == 2 and errors[0].field == "gold_urls"
    first, second = run_cases(trust_pipeline, cases, 5)
    assert first.scores["doc_hit@1"] == 1.0 and first.scores["gold_cited"] == 1.0
    assert first.scores["section_hit@5"] == 1.0
    assert second.abstained


@pytest.mark.slow
def test_export_is_the_answer_with_references(trust_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = trust_pipeline.ask(NHL_QUESTION, Session())
    text = export_markdown(answer, dt.date(2026, 11, 28))
    assert text.startswith(f"# {NHL_QUESTION}\n")
    assert "**References**" in text and NHL in text and "updated 2025-02-18" in text
    assert "`LoE C3`" in text and answer.disclaimer in text and "2026-11-28" in text


@pytest.mark.slow
def test_cli_json_citations_carry_evidence_and_stale(trust_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guidechat.cli import main

    assert main(["--home", str(trust_home), "ask", "What is 714-X?", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["citations"] and all(c["stale"] is True and c["evidence"] == [] for c in data["citations"])
    assert main(["--home", str(trust_home), "ask", NHL_QUESTION, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(c["evidence"] == ["C3"] and c["stale"] is False for c in data["citations"])
    assert data["trust"]["legend"][0]["code"] == "C3" and data["followups"]


# --------------------------------------------------------------------------- the library


@pytest.fixture()
def library_pipeline(trust_home: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings

    return ChatPipeline.from_settings(Settings(home=copy_home(trust_home, tmp_path / "home")))


LIBRARY_DOC = "hp/types-lymphoma-hp-hodgkin-lymphoma-treatment-during-pregnancy-pdq.md"
HODGKIN = "https://www.cancer.gov/types/lymphoma/hp/hodgkin-lymphoma-treatment-during-pregnancy-pdq"
HODGKIN_QUESTION = "How is Hodgkin lymphoma treated during pregnancy?"


@pytest.mark.slow
def test_library_upload_ask_remove(library_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from guidechat.library import Library, UploadError

    library = Library(library_pipeline.home, library_pipeline.reload)
    before = library.documents()
    assert HODGKIN not in {d.url for d in before}
    assert HODGKIN not in {c.url for c in library_pipeline.ask(HODGKIN_QUESTION, Session()).citations}

    upload = tmp_path / "incoming" / "upload_4f2a"  # as a web server leaves it: a temporary name
    upload.parent.mkdir()
    shutil.copy(CORPUS / LIBRARY_DOC, upload)
    with pytest.raises(UploadError, match="not accepted"):
        library.add([(upload, "notes.exe")])
    report = library.add([(upload, "Hodgkin in pregnancy.md")])
    assert report.new == 1 and not report.failed
    added = next(d for d in library.documents() if d.url == HODGKIN)
    assert added.uploaded and Path(added.key).parent == (library_pipeline.home.root / "uploads").resolve()
    assert (added.publisher, added.audience, added.updated) == ("National Cancer Institute (PDQ®)", "clinician",
                                                                "2025-01-13")
    assert added.chunks == len(library_pipeline.manifest().documents[added.key].chunk_ids) > 0
    assert {d.url for d in library.search("hodgkin PREGNANCY")} == {HODGKIN, NHL}  # every word, any case
    assert [d.url for d in library.search("uploads hodgkin")] == [HODGKIN]  # its path is under uploads/

    answer = library_pipeline.ask(HODGKIN_QUESTION, Session())
    assert_grounded(answer)
    assert HODGKIN in {c.url for c in answer.citations}

    chunk_ids = set(library_pipeline.manifest().documents[added.key].chunk_ids)
    removed = library.remove([added.key])
    assert removed.pruned == 1 and removed.chunks_removed == added.chunks
    assert not Path(added.key).exists()
    assert HODGKIN not in {d.url for d in library.documents()}
    again = library_pipeline.ask(HODGKIN_QUESTION, Session())
    assert HODGKIN not in {c.url for c in again.citations} | {p.chunk.doc.url for p in again.passages}
    assert not {cid for cid, _ in library_pipeline.retriever.bm25.search(HODGKIN_QUESTION, 50)} & chunk_ids
    assert not library_pipeline.home.store.get(sorted(chunk_ids))
    with pytest.raises(ValueError, match="not in the index"):
        library.remove([added.key])


@pytest.mark.slow
def test_library_refuses_bad_uploads_naming_the_file(library_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from guidechat.library import Library, UploadError

    settings = library_pipeline.settings.model_copy(update={"max_file_bytes": 1000})
    library_pipeline.home.settings = settings
    library = Library(library_pipeline.home)
    big = tmp_path / "big.md"
    big.write_text("# Big\n\n" + "word " * 1000, encoding="utf-8")
    with pytest.raises(UploadError, match="big.md.*too large"):
        library.add([(big, "big.md")])
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(UploadError, match="empty.txt.*empty"):
        library.add([(empty, "empty.txt")])
    assert not (library.uploads.exists() and any(library.uploads.iterdir()))
