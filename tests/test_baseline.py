"""The llama-index-defaults baseline: built from the same files as the guidechat index, top 2 nodes, the
retrieved text as the answer, run through the same eval harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidechat.baseline.llamaindex_defaults import TOP_K, LlamaIndexDefaults
from guidechat.chat.verify import unresolved_markers, unsupported_claims
from guidechat.cli import main
from guidechat.config import Settings
from guidechat.index.manifest import Manifest
from guidechat.types import Session

pytestmark = pytest.mark.slow

TESTIS_HP = "https://www.cancer.gov/types/testicular/hp/testicular-screening-pdq"


def test_defaults_answer_with_the_top_two_nodes_of_the_same_files(slice_home: Path, tmp_path: Path) -> None:
    manifest = Manifest.load(slice_home / "manifest.json")
    model = Settings().resolved_embed_model()
    built = LlamaIndexDefaults.build_or_load(manifest, tmp_path, model)
    assert built.build_s is not None

    answer = built.ask("Should men be screened for testicular cancer?", Session())
    assert len(answer.passages) == TOP_K == len(answer.citations)
    assert {p.chunk.doc.url for p in answer.passages} <= {e.url for e in manifest.documents.values()}
    assert answer.passages[0].chunk.doc.url.startswith("https://www.cancer.gov/types/testicular/")
    assert not answer.abstained and not answer.disclaimer  # what a user gets without guidechat
    assert not unresolved_markers(answer) and not unsupported_claims(answer)  # the text is the nodes' own

    loaded = LlamaIndexDefaults.build_or_load(manifest, tmp_path, model)
    assert loaded.build_s is None, "a second run loads the persisted index"
    again = loaded.ask("Should men be screened for testicular cancer?", Session())
    assert [p.chunk.id for p in again.passages] == [p.chunk.id for p in answer.passages]


def test_eval_runs_the_baseline_by_name(slice_home: Path, tmp_path: Path) -> None:
    case = {
        "id": "one",
        "question": "Should men be screened for testicular cancer?",
        "audience": "clinician",
        "gold_urls": [TESTIS_HP],
    }
    suite = tmp_path / "mini.jsonl"
    suite.write_text(json.dumps(case) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["--home", str(slice_home), "eval", str(suite), "--preset", "llamaindex-defaults", "--out", str(out)]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["preset"] == "llamaindex-defaults"
    assert len(report["cases"][0]["retrieved"]) == TOP_K
    assert report["overall"]["disclaimer"] == 0.0
