"""Answers composed from the documents on the question's subject (guidechat/chat/topic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidechat.chat.topic import SubjectWords, on_subject
from guidechat.text import stem
from guidechat.types import Chunk, DocMeta, Passage
from tests.conftest import corpus_file

TITLES = [
    "Childhood Chordoma Treatment", "Childhood Vascular Tumors Treatment", "Childhood Ependymoma Treatment",
    "Childhood Hodgkin Lymphoma Treatment", "Adult Hodgkin Lymphoma Treatment", "Cancer Pain",
    "Oral Complications of Cancer Therapies", "Breast Cancer Treatment", "Breast Cancer Screening",
    "Lung Cancer Screening",
]  # fmt: skip
SUBJECTS = SubjectWords([f"{t} (PDQ®)–Patient Version" for t in TITLES], max_share=0.2)  # at most 2 titles


def passage(doc: str, title: str, text: str, n: int) -> Passage:
    meta = DocMeta(title=f"{title} (PDQ®)–Patient Version", url=f"https://www.cancer.gov/{doc}")
    return Passage(Chunk(id=f"{doc}-{n}", doc_id=doc, text=text, doc=meta, section=("Symptoms",)), score=1.0 / n)


RANKED = [
    passage("chordoma", "Childhood Chordoma Treatment", "Children may not have symptoms of a chordoma at first.", 1),
    passage("vascular", "Childhood Vascular Tumors Treatment", "Symptoms depend on where the tumor is.", 2),
    passage("ependymoma", "Childhood Ependymoma Treatment", "Ependymoma may cause headaches and vomiting.", 3),
    passage("chordoma", "Childhood Chordoma Treatment", "These symptoms may be caused by other problems.", 4),
    passage("ependymoma", "Childhood Ependymoma Treatment", "Children may have trouble walking.", 5),
]


def test_a_subject_is_a_question_word_that_few_titles_use_and_a_retrieved_one_does() -> None:
    assert SUBJECTS.names(stem("ependymoma")) and SUBJECTS.names(stem("breast")) and SUBJECTS.names(stem("hodgkin"))
    assert not SUBJECTS.names(stem("childhood")), "4 of 10 titles: more than the 2 a share of 0.2 allows"
    assert not SUBJECTS.names(stem("treatment")) and not SUBJECTS.names(stem("melanoma")), "many titles; none"
    question = "What are the symptoms of childhood ependymoma?"
    assert SUBJECTS.of(question, RANKED) == {stem("ependymoma")}
    assert SUBJECTS.of(question, RANKED[:2]) == set(), "no retrieved title names it"
    # a small index: a word that two titles use still names a subject, whatever the share; one all three use not
    small = SubjectWords(["Childhood Ependymoma", "Childhood Chordoma", "Childhood Vascular Tumors"], max_share=0.05)
    assert small.of(question, RANKED) == {stem("ependymoma")}


def test_the_passages_of_documents_on_the_subject_are_kept_in_rank_order_past_the_first_k() -> None:
    kept = on_subject("What are the symptoms of childhood ependymoma?", RANKED, SUBJECTS, k=2)
    assert [p.chunk.id for p in kept] == ["ependymoma-3", "ependymoma-5"]


def test_a_document_on_the_subject_keeps_its_passages_that_do_not_repeat_the_subject() -> None:
    ranked = [
        passage("oral", "Oral Complications of Cancer Therapies", "Sucralfate rinses did not help mucositis.", 1),
        passage("oral", "Oral Complications of Cancer Therapies", "Topical morphine eased mouth pain.", 2),
        passage("pain", "Cancer Pain", "Opioids are used for moderate to severe cancer pain.", 3),
        passage("chordoma", "Childhood Chordoma Treatment", "Chordoma is rare.", 4),
    ]
    kept = on_subject("Sucralfate for mucositis, and what for the pain?", ranked, SUBJECTS, k=5)
    # "pain" names a subject a retrieved title uses; the oral-complications summary holds it in one passage
    assert [p.chunk.id for p in kept] == ["oral-1", "oral-2", "pain-3"]


def test_without_a_subject_or_a_passage_on_it_the_first_k_stay_as_ranked() -> None:
    assert on_subject("What are the symptoms in childhood?", RANKED, SUBJECTS, k=3) == RANKED[:3]
    assert on_subject("Is chordoma inherited?", RANKED[1:3], SUBJECTS, k=3) == RANKED[1:3]
    assert on_subject("What are the symptoms of childhood ependymoma?", [], SUBJECTS, k=3) == []


SUBJECT_DOCS = (  # the only summary on ependymoma is for clinicians; the patient ones are on other tumours
    "hp/types-brain-hp-child-ependymoma-treatment-pdq.md",
    "patient/types-bone-patient-child-chordoma-treatment-pdq.md",
    "patient/types-soft-tissue-sarcoma-patient-child-gist-treatment-pdq.md",
)


@pytest.mark.slow
def test_a_patient_asking_about_a_tumour_only_a_clinician_summary_covers_is_not_answered_about_others(
    tmp_path: Path,
) -> None:
    import shutil

    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome, ingest
    from guidechat.types import Session

    docs = tmp_path / "docs"
    docs.mkdir()
    for relative in SUBJECT_DOCS:
        shutil.copy2(corpus_file(relative), docs)
    settings = Settings(home=tmp_path / "home")
    assert not ingest(IndexHome(settings), [docs], progress=False).failed
    question = "What are the symptoms of childhood ependymoma?"

    def cited(share: float) -> set[str]:
        pipeline = ChatPipeline.from_settings(settings.model_copy(update={"subject_title_share": share}))
        answer = pipeline.ask(question, Session(), "patient")
        assert not answer.abstained
        return {c.title.split(" (PDQ")[0] for c in answer.citations}

    # measured: without the subject rule the patient summaries on chordoma and GIST are quoted beside it
    assert cited(0.0) > {"Childhood Ependymoma Treatment"}
    assert cited(0.05) == {"Childhood Ependymoma Treatment"}
