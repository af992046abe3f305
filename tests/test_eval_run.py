"""`guidechat eval` end to end on the real corpus slice: a multi-turn case, an abstention, a bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidechat.cli import main

pytestmark = pytest.mark.slow

MALE = "https://www.cancer.gov/types/breast/hp/male-breast-treatment-pdq"
TESTIS_HP = "https://www.cancer.gov/types/testicular/hp/testicular-screening-pdq"


def test_eval_writes_reports_for_every_turn(
    slice_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        {
            "id": "one",
            "question": "Should men be screened for testicular cancer?",
            "audience": "clinician",
            "expect": "answer",
            "gold_urls": [TESTIS_HP],
            "gold_sections": ["Overview"],
            "key_facts": ["screening"],
            "gold_answer": "Screening for testicular cancer is not recommended for men without symptoms.",
        },
        {
            "id": "multi",
            "audience": "clinician",
            "turns": [
                {"question": "What is the utility of MRI in stage IV breast cancer?", "gold_urls": [MALE]},
                {"question": "And in men?", "gold_urls": [MALE], "key_facts": ["men"]},
            ],
        },
        {
            "id": "abstain",
            "question": "How should I titrate basal insulin in type 2 diabetes?",
            "expect": "abstain",
            "audience": "clinician",
            "gold_urls": [],
        },
    ]
    suite = tmp_path / "mini.jsonl"
    suite.write_text("\n".join(json.dumps(c) for c in cases) + '\n{"id": "bad", "question": 3}\n', encoding="utf-8")
    out = tmp_path / "out"

    assert main(["--home", str(slice_home), "eval", str(suite), "--out", str(out)]) == 0
    assert f"{suite}:4: field 'question'" in capsys.readouterr().err

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [(c["id"], c["turn"]) for c in report["cases"]] == [("one", 1), ("multi", 1), ("multi", 2), ("abstain", 1)]
    follow = report["cases"][2]
    assert follow["query"] != follow["question"], "turn 2 was asked in the same session as turn 1"
    assert set(report["cases"][0]) >= {
        "id",
        "turn",
        "question",
        "query",
        "retrieved",
        "citations",
        "answer",
        "abstained",
        "latency_ms",
    }
    overall = report["overall"]
    assert overall["turns"] == 4 and overall["answerable"] == 3
    assert overall["citations_resolve"] == 1.0 and overall["sentences_supported"] == 1.0
    assert overall["disclaimer"] == 1.0
    assert overall["abstention"]["recall"] == 1.0 and overall["abstention"]["over_refusal"] == 0.0
    assert report["by_turn"]["follow-up"]["turns"] == 1
    assert report["settings_hash"] and report["index_digest"]
    assert "| doc_hit@5 |" in (out / "report.md").read_text(encoding="utf-8")
    assert report["cases"][0]["gold_urls"] == [TESTIS_HP]
    similar = report["cases"][0]["scores"]
    assert 0.0 < similar["answer_rouge_l"] < 1.0 and 0.3 < similar["answer_cosine"] <= 1.0
    assert "answer_rouge_l" not in report["cases"][1]["scores"], "no gold answer, no similarity"
    assert overall["answer_rouge_l"] == similar["answer_rouge_l"], "averaged over the cases that have one"
    assert 'id="plot-hit-at-k"' in (out / "report.html").read_text(encoding="utf-8")


def test_compare_prints_reports_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def report(hit: float, preset: str) -> dict[str, object]:
        figures = {"doc_hit@5": hit, "abstention": {"precision": 1.0}, "latency_ms": {"total": {"p50": 10.0}}}
        return {"preset": preset, "overall": figures, "by_suite": {"dev": figures}}

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(report(0.9, "guidechat")), encoding="utf-8")
    b.write_text(json.dumps(report(0.75, "bm25-only")), encoding="utf-8")
    assert main(["eval", "--compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "| scope | metric | guidechat | bm25-only |" in out
    assert "| overall | doc_hit@5 | 0.900 | 0.750 (-0.150) |" in out
    assert "| dev | abstention precision | 1.000 | 1.000 (+0.000) |" in out
