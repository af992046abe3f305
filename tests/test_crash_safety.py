"""SIGKILL during `guidechat ingest`, at random moments: nothing listed is ever lost, nothing is stored twice, BM25
never disagrees with the manifest, and the next ingest finishes the job with no orphans left.

Each trial edits, retitles, deletes or restores a document, starts a real ingest (`--prune`) as its own process,
kills it with SIGKILL after a random delay drawn over the whole measured length of an ingest, and reads the home back
in a fresh process; trials go on until 20 kills have landed while ingest ran. Every fourth trial, and after the
last, an ingest runs to completion and the home must then agree exactly with the files.
GUIDECHAT_KILL_TRIALS and GUIDECHAT_KILL_SEED change the number of kills and the draw."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_file
from tests.index_check import problems
from tests.security_counts import record

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("GUIDECHAT_KILL_TRIALS", "20"))
SEED = int(os.environ.get("GUIDECHAT_KILL_SEED", "6"))
DOCS = (  # three small patient summaries: about 40 chunks, an ingest of some seconds
    "patient/types-testicular-patient-testicular-screening-pdq.md",
    "patient/types-neuroblastoma-patient-neuroblastoma-screening-pdq.md",
    "patient/types-thyroid-patient-thyroid-screening-pdq.md",
)


class Worker:
    """tests/crash_worker.py: forks a real ingest process per trial without paying for the imports each time."""

    def __init__(self, process: subprocess.Popen[str], scratch: Path) -> None:
        self.process = process
        self.scratch = scratch

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the crash worker died"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def start(self, argv: list[str]) -> int:
        return int(self._ask({"run": argv})["pid"])

    def wait(self, pid: int) -> dict[str, Any]:
        return self._ask({"wait": pid})

    def state(self, home: Path, files: list[Path]) -> dict[str, Any]:
        reply = self._ask({"state": str(home), "files": [str(f) for f in files], "out": str(self.scratch)})
        assert reply["exit"] == 0 and reply["state"] is not None, "reading the home back failed"
        state: dict[str, Any] = reply["state"]
        return state

    def problems(self, home: Path, files: list[Path], complete: bool) -> list[str]:
        return problems(self.state(home, files), complete)


@contextmanager
def crash_worker(scratch: Path) -> Iterator[Worker]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen([sys.executable, "-m", "tests.crash_worker"], cwd=root, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    try:
        yield Worker(process, scratch)
    finally:
        process.kill()
        process.wait(timeout=30)


def _mutate(docs: Path, pool: Path, rng: random.Random, action: str = "") -> str:
    """Edit, retitle, delete or restore one document, so each ingest has changed, new or pruned work to do."""
    present = sorted(docs.glob("*.md"))
    missing = [p for p in sorted(pool.glob("*.md")) if not (docs / p.name).exists()]
    action = action or rng.choice(["edit", "edit", "retitle", "retitle", "delete", "restore"])
    if action == "restore" and missing:
        shutil.copy(rng.choice(missing), docs)
        return "restore"
    if action == "delete" and len(present) > 1:
        rng.choice(present).unlink()
        return "delete"
    target = rng.choice(present)
    lines = target.read_text(encoding="utf-8").splitlines()
    if action == "retitle":  # every chunk id follows the document's metadata: all of it is embedded again
        at = next(i for i, line in enumerate(lines) if line.startswith("title:"))
        lines[at] = lines[at].rstrip('"') + f' rev {rng.randrange(10**6)}"'
    else:  # one paragraph changes: its chunk is replaced, the others are kept
        action = "edit"
        at = rng.choice([i for i, line in enumerate(lines) if len(line) > 80 and not line.startswith(("#", "-", "|"))])
        lines[at] += f" Trial note {rng.randrange(10**6)}: this sentence was added to change the file."
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return action


def test_sigkill_during_ingest_loses_nothing_and_resumes(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    pool, docs, home = tmp_path / "pool", tmp_path / "docs", tmp_path / "home"
    pool.mkdir()
    for relative in DOCS:
        shutil.copy(corpus_file(relative), pool)
    shutil.copytree(pool, docs)
    argv = ["--home", str(home), "ingest", str(docs), "--prune", "--quiet"]

    def files() -> list[Path]:
        return sorted(p.resolve() for p in docs.glob("*.md"))

    started = time.perf_counter()
    with crash_worker(tmp_path / "state.json") as worker:

        def timed_ingest() -> float:
            t = time.perf_counter()
            assert worker.wait(worker.start(argv)) == {"exit": 0}, "an uninterrupted ingest failed"
            return time.perf_counter() - t

        # Measure first: kills are drawn over the whole length of an uninterrupted ingest of the same kind.
        first = timed_ingest()
        assert worker.problems(home, files(), complete=True) == []
        later = 0.0
        for action in ("retitle", "edit", "delete", "restore"):
            _mutate(docs, pool, rng, action)
            later = max(later, timed_ingest())
        assert worker.problems(home, files(), complete=True) == []
        shutil.rmtree(home)  # the first trial kills a first ingest

        log: list[dict[str, Any]] = []
        killed = 0
        while killed < TRIALS:  # a kill that comes after the ingest finished is checked, but not counted
            trial = len(log)
            assert trial < 3 * TRIALS, f"only {killed} of {trial} kills landed while ingest ran"
            action = _mutate(docs, pool, rng) if trial else "first ingest"
            delay = rng.uniform(0.0, first if trial == 0 else later)
            pid = worker.start(argv)
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)  # a zombie already done ignores it: that trial ran to its end
            outcome = worker.wait(pid)
            killed += outcome.get("signal") == signal.SIGKILL
            if outcome.get("exit") == 0:
                later *= 0.9  # ingest ran shorter than we drew from (a lighter change, a less busy machine)
            entry: dict[str, Any] = {"trial": trial, "action": action, "delay_s": round(delay, 2), **outcome}
            state = worker.state(home, files())
            entry["after_kill"] = problems(state, complete=False)
            listed = {cid for doc in state["manifest"].values() for cid in doc["chunk_ids"]}
            entry["orphans"] = len(set(state["store_ids"]) - listed)  # > 0: killed inside a commit
            entry["bm25_stale"] = not state["bm25_fresh"]
            if trial % 4 == 3 or killed == TRIALS:
                timed_ingest()  # resumes what the killed one left
                entry["after_resume"] = worker.problems(home, files(), complete=True)
            log.append(entry)

    found = [p for e in log for p in e["after_kill"] + e.get("after_resume", [])]
    record("kill_trials", kills_mid_ingest=killed, kills_after_the_end=len(log) - killed, inconsistencies=len(found),
           left_orphans=sum(1 for e in log if e["orphans"]), left_bm25_stale=sum(1 for e in log if e["bm25_stale"]),
           resumed_checks=sum(1 for e in log if "after_resume" in e), first_ingest_s=round(first, 1),
           later_ingest_s=round(later, 1),
           seconds=round(time.perf_counter() - started, 1))  # fmt: skip
    assert killed >= 20 or "GUIDECHAT_KILL_TRIALS" in os.environ
    assert not found, json.dumps([e for e in log if e["after_kill"] or e.get("after_resume")], indent=1)


# --------------------------------------------------------------------------- every write boundary, in turn


class _Crash(BaseException):
    """Stands for the process dying: raised right after a write reached the disk, caught by no handler."""


@pytest.mark.parametrize("change", ["new", "edit", "retitle", "prune"])
def test_a_crash_after_any_write_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """The random kills above rarely land in a short window; here ingest "dies" after each write in turn (each
    Chroma add or delete, each manifest or BM25 save), and the home is read back and then resumed."""
    from guidechat.config import Settings
    from guidechat.index.bm25 import Bm25Index
    from guidechat.index.indexer import IndexHome, ingest
    from guidechat.index.manifest import Manifest
    from guidechat.index.store import VectorStore
    from tests.index_check import index_state

    pool, docs = tmp_path / "pool", tmp_path / "docs"
    pool.mkdir()
    for relative in DOCS[:2]:  # their first sections only: a few chunks each, so each of the runs is quick
        lines = corpus_file(relative).read_text(encoding="utf-8").splitlines()
        (pool / Path(relative).name).write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    writes = [(VectorStore, "add"), (VectorStore, "delete"), (Manifest, "save"), (Bm25Index, "save")]
    budget = {"left": 10**9}
    for cls, name in writes:
        real = getattr(cls, name)

        def dying(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            result = _real(*args, **kwargs)
            budget["left"] -= 1
            if budget["left"] == 0:
                raise _Crash
            return result

        monkeypatch.setattr(cls, name, dying)

    crashes = 0
    for k in range(1, 50):
        home = IndexHome(Settings(home=tmp_path / f"home-{k}"))
        shutil.rmtree(docs, ignore_errors=True)
        shutil.copytree(pool, docs)
        if change != "new":
            budget["left"] = 10**9
            ingest(home, [docs], progress=False)
            target = sorted(docs.glob("*.md"))[0]
            text = target.read_text(encoding="utf-8")
            if change == "prune":
                target.unlink()
            elif change == "retitle":
                target.write_text(text.replace("title: \"", "title: \"Retitled ", 1), encoding="utf-8")
            else:
                target.write_text(text.replace("\n\n", "\n\nAn edited first paragraph.\n\n", 2), encoding="utf-8")
        files = sorted(p.resolve() for p in docs.glob("*.md"))
        budget["left"] = k
        try:
            ingest(home, [docs], prune=True, progress=False)
        except _Crash:
            crashes += 1
        else:
            break  # fewer than k writes: every boundary has been tried
        budget["left"] = 10**9
        found = problems(index_state(home.root, files), complete=False)
        assert not found, f"{change}: a crash after write {k} left {found}"
        ingest(IndexHome(Settings(home=home.root)), [docs], prune=True, progress=False)
        found = problems(index_state(home.root, files), complete=True)
        assert not found, f"{change}: resuming after a crash at write {k} left {found}"
    assert crashes >= 3, f"{change}: only {crashes} write boundaries"
    record("crash_points", change=change, write_boundaries=crashes, inconsistencies=0)
