"""Eval metrics on tiny hand-computed cases, and suite loading with bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guidechat.eval.metrics import (
    abstention_scores,
    answer_words,
    best_doc_rank,
    hit_at,
    key_fact_recall,
    percentile,
    reciprocal_rank,
    rouge_l_f1,
    section_hit_at,
)
from guidechat.eval.runner import gold_answer_similarity
from guidechat.eval.suite import load_suite

A, B, C = "https://x/a", "https://x/b", "https://x/c"
SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def test_a_document_counts_once_at_its_best_rank() -> None:
    assert best_doc_rank([A, A, A, B], [B]) == 2
    assert best_doc_rank([A, B, C], [C, B]) == 2
    assert best_doc_rank([A, B], [C]) is None
    assert hit_at(2, 1) == 0.0 and hit_at(2, 5) == 1.0 and hit_at(None, 10) == 0.0
    assert reciprocal_rank(2) == 0.5 and reciprocal_rank(None) == 0.0


def test_section_hit_needs_the_gold_document_and_a_gold_heading() -> None:
    ranked = [(A, ("Treatment", "Olanzapine")), (B, ("Methadone",))]
    assert section_hit_at(ranked, [A], ["olanzapine"], 5) == 1.0
    assert section_hit_at(ranked, [B], ["Olanzapine"], 5) == 0.0, "the heading is in another document"
    assert section_hit_at(ranked, [B], ["Methadone"], 1) == 0.0, "outside the top 1"


def test_key_fact_recall() -> None:
    assert key_fact_recall("Give olanzapine 10 mg for 4 days; sedation is common.", ["10 mg", "Sedation", "x"]) == 2 / 3
    assert key_fact_recall("anything", []) is None


def test_rouge_l_f1_by_hand() -> None:
    # common subsequence "the cat on the mat": 5 of 6 candidate words, 5 of 7 reference words
    assert rouge_l_f1("The cat sat on the mat.", "the cat is on the mat today") == pytest.approx(10 / 13)
    assert rouge_l_f1("mat the", "the mat") == pytest.approx(0.5), "order matters: one word in common order"
    assert rouge_l_f1("same words", "Same, words!") == 1.0
    assert rouge_l_f1("", "anything") == 0.0 and rouge_l_f1("no overlap", "at all here") == 0.0


def test_answer_words_drop_markers_and_headings() -> None:
    markdown = "**Bottom line:** Surgery is standard [1].\n\n**Evidence**\n\n- Radiation helps [2][3]."
    assert answer_words(markdown) == "Surgery is standard . - Radiation helps ."


def test_gold_answer_similarity() -> None:
    def embed(texts: list[str]) -> np.ndarray:
        vectors = {"Surgery is standard .": [1.0, 0.0], "Surgery is the standard treatment.": [0.6, 0.8]}
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    gold = "Surgery is the standard treatment."
    scores = gold_answer_similarity("**In short:** Surgery is standard [1].", gold, embed)
    assert scores["answer_rouge_l"] == round(2 * (3 / 3) * (3 / 5) / (3 / 3 + 3 / 5), 4)
    assert scores["answer_cosine"] == pytest.approx(0.6)
    assert gold_answer_similarity("anything", None, embed) == {}
    assert gold_answer_similarity("Surgery is standard.", "Surgery", None)["answer_cosine"] is None


def test_abstention_scores() -> None:
    expected = [True, True, False, False, False]
    abstained = [True, False, True, False, False]
    assert abstention_scores(expected, abstained) == {"precision": 0.5, "recall": 0.5, "over_refusal": 1 / 3}
    assert abstention_scores([False], [False]) == {"precision": None, "recall": None, "over_refusal": 0.0}


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 95) == 10.0
    assert percentile([7.0], 99) == 7.0


def test_suite_with_bad_lines_reports_file_line_and_field(tmp_path: Path) -> None:
    good = {"id": "a", "question": "Q?", "expect": "answer", "audience": "clinician", "gold_urls": [A]}
    multi = {"id": "m", "audience": "patient", "turns": [{"question": "Q1?", "gold_urls": [A]},
                                                         {"question": "And?", "expect": "abstain"}]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "b", "audience": "nurse"}),
        json.dumps({**good, "id": "c", "question": ""}),
        json.dumps({**good, "id": "d", "expect": "maybe"}),
        json.dumps(multi),
        json.dumps({**good}),
        json.dumps({"id": "e", "turns": [{"question": "Q?", "gold_urls": "a-string"}]}),
    ]
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cases, errors = load_suite(path)
    assert [c.id for c in cases] == ["a", "m", "a"], "a repeated id is kept (the real MedQuAD suite has them)"
    assert cases[1].audience == "patient" and [t.expect for t in cases[1].turns] == ["answer", "abstain"]
    found = [(e.line, e.field) for e in errors]
    assert found == [(2, ""), (3, "audience"), (4, "question"), (5, "expect"), (8, "turns[0].gold_urls")]
    assert str(errors[1]).startswith(f"{path}:3: field 'audience'")


@pytest.mark.parametrize("name", ["clinician-dev.jsonl", "medquad-cancergov-dev.jsonl"])
def test_the_shared_suites_load_cleanly(name: str) -> None:
    cases, errors = load_suite(SHARED_EVAL / name)
    assert errors == [] and len(cases) >= 30


def test_presets_and_overrides_build_settings(tmp_path: Path) -> None:
    from guidechat.cli import _with_overrides
    from guidechat.config import Settings

    base = Settings(home=tmp_path)
    bm25 = _with_overrides(base, "bm25-only", ["top_k=8"])
    assert (bm25.retrieval_mode, bm25.top_k, bm25.home) == ("bm25", 8, tmp_path)
    assert bm25.settings_hash() != base.settings_hash()
    with pytest.raises(SystemExit, match="unknown preset"):
        _with_overrides(base, "magic", [])
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        _with_overrides(base, "guidechat", ["no_such_setting=1"])
