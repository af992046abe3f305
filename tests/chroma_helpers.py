"""A real Chroma server (`chroma run`, the pinned chromadb's own CLI) on a free localhost port, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ui_helpers import free_port

CHROMA = Path(sys.executable).parent / "chroma"

# The document the shared-index tests ingest while a replica runs, and a question only it answers.
LIVER_DOC = "hp/types-liver-hp-liver-screening-pdq.md"
LIVER_QUESTION = "Does screening with ultrasonography and alpha-fetoprotein reduce liver cancer mortality?"


@contextmanager
def chroma_server(data: Path, timeout: float = 60.0) -> Iterator[str]:
    """Start `chroma run` persisting under `data`; yield its url once the heartbeat answers; stop it."""
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = open(data.parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 - closed in finally
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}: {Path(log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
