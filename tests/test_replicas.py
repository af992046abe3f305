"""Two real app processes (`guidechat serve`) sharing one real Chroma server: a document ingested through one
replica is answered from by the other, without restarting it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.chroma_helpers import LIVER_DOC, LIVER_QUESTION, chroma_server
from tests.conftest import SMALL_DOC, corpus_file
from tests.ui_helpers import free_port

pytestmark = pytest.mark.slow


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guidechat.cli", *args], capture_output=True, text=True,
                          timeout=600, check=False, env=env)


@contextmanager
def _replica(
    home: Path, chroma_url: str, env: dict[str, str], log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`guidechat serve` in its own process; yields its url once /answer can be called, and the process."""
    from gradio_client import Client

    port = free_port()
    out = open(log, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "guidechat.cli", "--home", str(home), "serve", "--chroma-url", chroma_url,
         "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"replica exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                Client(url, verbose=False)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


def _cites_liver(answer: dict[str, Any]) -> bool:
    return any("liver-screening" in c["url"] for c in answer["citations"])


def test_an_ingest_through_one_replica_is_answered_from_by_the_other(tmp_path: Path) -> None:
    from gradio_client import Client

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(corpus_file(SMALL_DOC), docs / "testicular.md")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "GUIDECHAT_INDEX_REFRESH_SECONDS": "1"}
    with ExitStack() as stack:
        chroma_url = stack.enter_context(chroma_server(tmp_path / "chroma"))
        first = _cli("--home", str(tmp_path / "a"), "ingest", str(docs), "--chroma-url", chroma_url, env=env)
        assert first.returncode == 0, first.stderr
        url_a, _ = stack.enter_context(_replica(tmp_path / "a", chroma_url, env, tmp_path / "a.log"))
        url_b, proc_b = stack.enter_context(_replica(tmp_path / "b", chroma_url, env, tmp_path / "b.log"))

        session_b = Client(url_b, verbose=False)
        before = session_b.predict(LIVER_QUESTION, "clinician", api_name="/answer")
        assert not _cites_liver(before), "replica B knows nothing about liver cancer screening yet"

        # through replica A: its home, the same server
        shutil.copy(corpus_file(LIVER_DOC), docs / "liver.md")
        added = _cli("--home", str(tmp_path / "a"), "ingest", str(docs), "--chroma-url", chroma_url, env=env)
        assert added.returncode == 0, added.stderr
        assert "1 new, 0 changed, 1 unchanged" in added.stdout

        ingested_at = time.monotonic()
        while True:  # B rebuilds its BM25 in the background within a refresh interval or so
            after = session_b.predict(LIVER_QUESTION, "clinician", api_name="/answer")
            if _cites_liver(after) or time.monotonic() - ingested_at > 60:
                break
            time.sleep(0.5)
        assert _cites_liver(after) and not after["abstained"], after["markdown"]
        assert proc_b.poll() is None, "replica B was not restarted"
        from_a = Client(url_a, verbose=False).predict(LIVER_QUESTION, "clinician", api_name="/answer")
        assert _cites_liver(from_a)
        print(f"replica B answered from the new document {time.monotonic() - ingested_at:.1f} s after the ingest")
