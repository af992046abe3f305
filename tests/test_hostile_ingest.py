"""Hostile files through real ingest into a real index: each bad file is reported by name, the run goes on, and
nothing already indexed changes (the manifest and the stored chunk ids are compared before and after)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from guidechat.config import Settings
from guidechat.index.indexer import IndexHome, ingest
from tests.conftest import SMALL_DOC, corpus_file
from tests.hostile_inputs import HOSTILE_YAML, encrypted, raw_pdf, seeds
from tests.index_check import index_state, problems
from tests.security_counts import record

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _small_doc(folder: Path) -> Path:
    """The first sections of a real summary: a few chunks, quick to embed."""
    lines = corpus_file(SMALL_DOC).read_text(encoding="utf-8").splitlines()
    path = folder / "testicular.md"
    path.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    return path


def _hostile_files(docs: Path) -> dict[str, str]:
    """Every kind of bad file beside a good one; name -> a part of the reason ingest must give."""
    pdf = seeds()[".pdf"]
    bomb = zlib.compress(b"BT (x) Tj ET\n" + b" " * 200_000_000, 9)
    files: dict[str, tuple[bytes, str]] = {
        "empty.md": (b"", "empty file"),
        "blank.txt": (b" \n\t\n", "empty file"),
        "binary.txt": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "binary file"),
        "latin1.md": ("Dépistage précoce".encode("latin-1"), "not UTF-8"),
        "utf16.html": ("<p>Dépistage</p>".encode("utf-16"), "binary file"),
        "truncated.pdf": (pdf[: len(pdf) // 2], "not a readable PDF"),
        "encrypted.pdf": (encrypted(pdf, "secret"), "encrypted (password required)"),
        "cyclic.pdf": (raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] >>"]),
                       "not a readable PDF"),  # fmt: skip
        "bomb.pdf": (raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                              b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
                              f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode() + bomb +
                              b"\nendstream"]), "PDF"),  # unreadable, or no text once the bomb is capped; fmt: skip
        "not-a-pdf.pdf": (b"<html>hello</html>", "no %PDF header"),
        "yaml-bomb.md": (f"---\n{HOSTILE_YAML[0]}\n---\nBody\n".encode(), "front matter field 'title'"),
        "python-tag.md": (f"---\n{HOSTILE_YAML[1]}\n---\nBody\n".encode(), "could not determine a constructor"),
        "wrong-type.md": (b"---\ntitle: [a, b]\n---\nBody\n", "front matter field 'title' must be text"),
        "bad-date.md": (b"---\nupdated: 2024-02-30\n---\nBody\n", "invalid YAML front matter"),
        "not-a-mapping.md": (b"---\n- a\n- b\n---\nBody\n", "not a mapping"),
        "deep.html": (("<div>" * 100_000 + "x").encode(), "nested too deeply"),
        "huge-table.html": (b"<table>" + b'<tr><td colspan="1000">x</td></tr>' * 2000 + b"</table>", "too large"),
        "scripts-only.html": (b"<html><script>alert(1)</script></html>", "no text content"),
        "locked.md": (b"# Locked\n\nA readable text, if one could read it.\n", "Permission denied"),
    }
    expected = {}
    for name, (content, reason) in files.items():
        (docs / name).write_bytes(content)
        expected[name] = reason
    (docs / "locked.md").chmod(0)
    with open(docs / "huge.pdf", "wb") as out:
        out.truncate(100 * 1024 * 1024)  # sparse
    expected["huge.pdf"] = "file too large (104.9 MB; the limit is 50.0 MB"
    (docs / "loop1.md").symlink_to(docs / "loop2.md")
    (docs / "loop2.md").symlink_to(docs / "loop1.md")
    expected |= {"loop1.md": "symbolic link loop", "loop2.md": "symbolic link loop"}
    (docs / "dangling.md").symlink_to(docs / "missing.md")
    expected["dangling.md"] = "broken symbolic link"
    os.mkfifo(docs / "pipe.md")
    (docs / "zero.txt").symlink_to("/dev/zero")
    expected |= {"pipe.md": "not a regular file", "zero.txt": "not a regular file"}
    return expected


def _guidechat(*args: str, as_unprivileged_root: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI as its own process. As root, chmod 000 stops nothing, so root's override of file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) is dropped for the run that must meet the locked file."""
    prefix: list[str] = []
    if as_unprivileged_root and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root needs setpriv (util-linux) to hold root to file modes"
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "guidechat.cli", *args], capture_output=True, text=True,
                          timeout=900, check=False, cwd=ROOT)  # fmt: skip


def _state(home: Path) -> dict[str, Any]:
    """Read back in a fresh process: no Chroma client here caches what the CLI wrote."""
    run = subprocess.run([sys.executable, "-m", "tests.index_check", str(home)], capture_output=True, text=True,
                         timeout=600, check=True, cwd=ROOT)  # fmt: skip
    state: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return state


def test_hostile_folder_through_the_cli_changes_nothing(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    _small_doc(docs)
    first = _guidechat("--home", str(home), "ingest", str(docs))
    assert first.returncode == 0 and "1 new" in first.stdout, first.stderr
    before = _state(home)

    expected = _hostile_files(docs)
    run = _guidechat("--home", str(home), "ingest", str(docs), as_unprivileged_root=True)
    assert run.returncode == 0, run.stderr
    skipped = [line for line in run.stderr.splitlines() if line.startswith("skipped ")]
    for name, reason in expected.items():
        lines = [line for line in skipped if line.startswith(f"skipped {docs / name}: ")]
        assert len(lines) == 1, f"{name}: {lines or skipped}"
        assert reason in lines[0], lines[0]
    assert len(skipped) == len(expected), skipped
    assert f"0 new, 0 changed, 1 unchanged, {len(expected)} failed" in run.stdout, run.stdout

    after = _state(home)
    assert after["manifest"] == before["manifest"], "the manifest changed"
    assert sorted(after["store_ids"]) == sorted(before["store_ids"]), "the stored chunks changed"
    assert after["bm25_ids"] is not None and sorted(after["bm25_ids"]) == sorted(before["store_ids"])
    assert problems(after, complete=False) == []
    record("hostile_ingest_cli", files=len(expected), reported_by_name=len(expected), crashes=0, index_changed=False)


def _mutants(folder: Path, count: int, rng: random.Random) -> list[Path]:
    """Small real files (md, txt, html, pdf) with random byte-level damage, some under another suffix."""
    small = {suffix: data if suffix == ".pdf" else data[:1500] for suffix, data in seeds().items()}
    paths = []
    for n in range(count):
        suffix = rng.choice(sorted(small))
        data = bytearray(small[suffix])
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            op = rng.choice(["truncate", "flip", "insert", "delete", "nul"])
            if op == "truncate":
                del data[at:]
            elif op == "flip" and data:
                data[min(at, len(data) - 1)] ^= rng.randrange(1, 256)
            elif op == "insert":
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
            elif op == "delete":
                del data[at : at + rng.randint(1, 400)]
            else:
                data[at:at] = b"\x00"
        if rng.random() < 0.2:
            suffix = rng.choice([".md", ".txt", ".html", ".pdf"])
        path = folder / f"mutant-{n:03d}{suffix}"
        path.write_bytes(bytes(data))
        paths.append(path)
    return paths


def test_a_batch_of_damaged_files_through_ingest(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    good = _small_doc(docs)
    home = IndexHome(Settings(home=tmp_path / "home"))
    ingest(home, [docs], progress=False)
    before = home.manifest().documents[str(good.resolve())]
    before_ids = home.store.ids()

    mutants = _mutants(docs, 80, random.Random(6))
    report = ingest(home, [docs], progress=False)  # no exception: the run goes on past every bad file
    failed = {Path(str(err.path)).name: err.reason for err in report.failed}
    manifest = home.manifest()
    for path in mutants:
        indexed = str(path.resolve()) in manifest.documents
        assert indexed != (path.name in failed), f"{path.name}: neither indexed nor reported (or both)"
    for err in report.failed:
        assert str(err).startswith(f"{err.path}: ") and err.reason, err
    assert manifest.documents[str(good.resolve())] == before, "the good document's entry changed"
    assert before_ids <= home.store.ids(), "chunks of the good document went missing"
    assert problems(index_state(home.root, []), complete=False) == []
    assert home.store.ids() == manifest.chunk_ids(), "orphans or missing chunks after a complete run"
    record("hostile_ingest_batch", files=len(mutants), rejected=len(failed), indexed=len(mutants) - len(failed),
           crashes=0)  # fmt: skip
    assert len(failed) >= 20 and len(mutants) - len(failed) >= 10, (len(failed), report.summary())
