"""Incremental ingest into a real Chroma with the real model.

Idempotent, replaces changed files, prunes, survives bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guidechat.config import Settings
from guidechat.index.indexer import IndexHome, ingest, stale_files
from tests.conftest import SLICE, SMALL_DOC, corpus_file

pytestmark = pytest.mark.slow


def _home(tmp_path: Path) -> IndexHome:
    return IndexHome(Settings(home=tmp_path / "home"))


def _small_folder(tmp_path: Path) -> tuple[Path, Path, IndexHome]:
    """A folder holding one small real summary, and an empty home to index it into."""
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "testicular.md"
    shutil.copy(corpus_file(SMALL_DOC), doc)
    return docs, doc, _home(tmp_path)


def _indexed_ids(home: IndexHome) -> set[str]:
    return home.store.ids()


def test_slice_ingest_builds_a_consistent_index(slice_home: Path) -> None:
    home = IndexHome(Settings(home=slice_home))
    manifest = home.manifest()
    assert len(manifest.documents) == len(SLICE)
    assert home.store.ids() == manifest.chunk_ids()
    chunks = home.store.all_chunks()
    assert all(c.doc.url.startswith("https://www.cancer.gov/") for c in chunks)
    assert {c.doc.audience for c in chunks} == {"clinician", "patient"}
    assert not any("References" in c.section for c in chunks)
    assert len(home.load_bm25()) == len(chunks)


def test_reingest_is_a_no_op(slice_home: Path, slice_dir: Path) -> None:
    home = IndexHome(Settings(home=slice_home))
    before = home.store.ids()
    report = ingest(home, [slice_dir], progress=False)
    assert (report.new, report.changed, report.unchanged, report.chunks_added) == (0, 0, len(SLICE), 0)
    assert home.store.ids() == before
    assert stale_files(home, [slice_dir]) == []


def test_changed_file_replaces_its_chunks(tmp_path: Path) -> None:
    docs, target, home = _small_folder(tmp_path)
    first = ingest(home, [docs], progress=False)
    assert first.new == 1 and first.chunks_added > 0
    before = _indexed_ids(home)

    text = target.read_text(encoding="utf-8")
    marker = "Testicular cancer can usually be cured."
    assert marker in text
    target.write_text(text.replace(marker, "Testicular cancer is usually curable (edited for the test)."))
    assert stale_files(home, [docs]) == [target.resolve()]
    second = ingest(home, [docs], progress=False)
    after = _indexed_ids(home)
    assert (second.new, second.changed) == (0, 1)
    assert 0 < second.chunks_added < first.chunks_added, "unchanged chunks are not embedded again"
    assert second.chunks_removed == second.chunks_added
    assert after == home.manifest().chunk_ids()
    assert len(after) == len(before)
    texts = " ".join(c.text for c in home.store.all_chunks())
    assert "edited for the test" in texts and marker not in texts


def test_bad_files_are_reported_and_skipped_and_nothing_is_lost(tmp_path: Path) -> None:
    docs, good, home = _small_folder(tmp_path)
    ingest(home, [docs], progress=False)
    indexed = _indexed_ids(home)

    (docs / "empty.md").write_text("")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    (docs / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    good.write_bytes(b"\xff\xfe not utf-8 any more")  # an indexed file that became unreadable
    report = ingest(home, [docs], progress=False)

    failed = {Path(str(f.path)).name: f.reason for f in report.failed}
    assert set(failed) == {"empty.md", "binary.txt", "broken.pdf", "latin1.txt", "testicular.md"}
    assert "empty" in failed["empty.md"]
    assert "binary" in failed["binary.txt"]
    assert "PDF" in failed["broken.pdf"]
    assert "UTF-8" in failed["latin1.txt"]
    assert _indexed_ids(home) == indexed, "what was indexed from a file that now fails is kept"
    assert report.summary().count("5 failed") == 1


def test_prune_drops_documents_whose_files_are_gone(tmp_path: Path) -> None:
    docs, doc, home = _small_folder(tmp_path)
    ingest(home, [docs], progress=False)
    doc.unlink()
    kept = ingest(home, [docs], progress=False)
    assert kept.pruned == 0 and home.store.count() > 0, "without --prune nothing is dropped"
    pruned = ingest(home, [docs], prune=True, progress=False)
    assert pruned.pruned == 1
    assert home.store.count() == 0 and not home.manifest().documents
