"""The command line as a user runs it: a real process, a real index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_DOC, corpus_file

pytestmark = pytest.mark.slow


def guidechat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guidechat.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_ask_json(slice_home: Path) -> None:
    run = guidechat("--home", str(slice_home), "ask", "Should men be screened for testicular cancer?", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["abstained"] is False
    assert data["query"] == data["question"]
    assert data["citations"] and all(
        set(c) >= {"n", "title", "url", "section", "updated", "text"} for c in data["citations"]
    )
    assert "verify against the primary sources" in data["disclaimer"]
    assert data["timings_ms"]["total"] > 0


def test_ask_markdown_ends_with_the_disclaimer(slice_home: Path) -> None:
    run = guidechat("--home", str(slice_home), "ask", "How should I titrate basal insulin in type 2 diabetes?")
    assert run.returncode == 0, run.stderr
    assert "do not address" in run.stdout
    assert run.stdout.strip().endswith("verify against the primary sources before acting.*")


def test_ingest_summary_status_and_failures(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(corpus_file(SMALL_DOC), docs / "testicular.md")
    (docs / "empty.txt").write_text("")
    home = str(tmp_path / "home")

    assert guidechat("--home", home, "status").returncode == 1, "nothing indexed yet"
    first = guidechat("--home", home, "ingest", str(docs))
    assert first.returncode == 0, first.stderr
    assert "1 new, 0 changed, 0 unchanged, 1 failed" in first.stdout
    assert "empty.txt: empty file" in first.stderr
    again = guidechat("--home", home, "ingest", str(docs / "testicular.md"))
    assert "0 new, 0 changed, 1 unchanged, 0 failed" in again.stdout
    assert guidechat("--home", home, "status", str(docs / "testicular.md")).returncode == 0
    (docs / "testicular.md").write_text("# Changed\n\nA different text entirely, for the test.\n")
    assert guidechat("--home", home, "status", str(docs / "testicular.md")).returncode == 1


def test_ask_without_an_index_says_what_to_do(tmp_path: Path) -> None:
    run = guidechat("--home", str(tmp_path / "none"), "ask", "anything")
    assert run.returncode != 0
    assert "guidechat ingest" in run.stderr
