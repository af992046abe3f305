"""Incremental ingest: new and changed files are chunked and embedded, unchanged ones skipped."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from guidechat.config import Settings
from guidechat.index.bm25 import Bm25Index
from guidechat.index.embed import Embedder
from guidechat.index.manifest import DocEntry, Manifest, SharedManifest
from guidechat.index.records import embedding_text
from guidechat.index.shared import IndexFollower, SharedBm25
from guidechat.index.store import VectorStore
from guidechat.ingest.chunk import chunk_document
from guidechat.ingest.loaders import LoadError, discover, load_document, read_file
from guidechat.types import Chunk, Document


@dataclass
class IngestReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: list[LoadError] = field(default_factory=list)
    pruned: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    vectors_reused: int = 0  # chunks added with the vector of a stored chunk that reads the same (a moved file)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.chunks_added / self.seconds if self.seconds else 0.0
        return (
            f"documents: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed, {self.pruned} pruned; chunks: {self.chunks_added} added, "
            f"{self.chunks_removed} removed, {self.chunks_total} in index; "
            f"{self.seconds:.1f} s ({rate:.1f} chunks/s)"
        )


class IndexHome:
    """The files under GUIDECHAT_HOME: Chroma, BM25 and the manifest. With chroma_url set, the vectors and the
    manifest live on the Chroma server instead (shared by every replica) and the home only caches BM25."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.home
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / "manifest.json"
        self.bm25_path = self.root / "bm25"
        self.chroma_path = self.root / "chroma"
        # written when the store was found to hold exactly the manifest's chunks, removed before any store write:
        # a no-op ingest that finds it need not open Chroma at all
        self.clean_path = self.root / "store-clean.json"
        self.shared = bool(settings.chroma_url)
        self._store: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._shared_bm25: SharedBm25 | None = None

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        s = self.settings
        return f"collection {s.collection!r} on {s.chroma_url}" if self.shared else str(self.root)

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore(self.chroma_path, self.settings.collection, self.settings.chroma_url)
        return self._store

    @property
    def _shared(self) -> SharedBm25:
        if self._shared_bm25 is None:
            records = self.store.records(f"{self.settings.collection}-manifest")
            self._shared_bm25 = SharedBm25(self.store, SharedManifest(records), self.root / "bm25-shared")
        return self._shared_bm25

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = Embedder(
                s.resolved_embed_model(), s.embed_batch_size, s.embed_threads, s.sentence_vectors, s.query_backend,
                s.onnx_cache,
            )
        return self._embedder

    def manifest(self) -> Manifest:
        return self._shared.manifest.load() if self.shared else Manifest.load(self.manifest_path)

    def save_manifest(self, manifest: Manifest) -> None:
        if self.shared:
            self._shared.manifest.save(manifest)
        else:
            manifest.save(self.manifest_path)

    def follow(self, on_change: Callable[[Bm25Index], None]) -> IndexFollower:
        """Shared index only: hand `on_change` a fresh BM25 whenever another process's ingest commits."""
        follower = IndexFollower(self._shared, on_change, self.settings.index_refresh_seconds)
        follower.start()
        return follower

    def load_bm25(self) -> Bm25Index:
        if self.shared:
            return self._shared.load()
        manifest = self.manifest()
        return Bm25Index.load(self.bm25_path, manifest.digest()) or self.save_bm25(manifest)

    def save_bm25(self, manifest: Manifest, known: dict[str, Chunk] | None = None) -> Bm25Index:
        """BM25 over exactly what the manifest lists (chunks of an interrupted ingest are not indexed until it
        records them), from the previous one: only chunks it lacks are read, from `known` or else from Chroma."""
        known = known or {}

        def fetch(ids: list[str]) -> dict[str, Chunk]:
            got = {cid: known[cid] for cid in ids if cid in known}
            rest = [cid for cid in ids if cid not in got]
            if rest:
                got.update(self.store.get(rest))
            return got

        previous = Bm25Index.load(self.bm25_path, None) or Bm25Index(None, [])
        bm25 = previous.updated(manifest.ordered_chunk_ids(), fetch)
        bm25.save(self.bm25_path, manifest.digest())
        return bm25

    def store_is_clean(self, manifest: Manifest) -> bool:
        """Whether the store was last seen holding exactly this manifest's chunks, with no write since."""
        try:
            return bool(json.loads(self.clean_path.read_text()).get("digest") == manifest.digest())
        except (OSError, ValueError, AttributeError):
            return False

    def mark_store_clean(self, manifest: Manifest) -> None:
        tmp = self.clean_path.with_name(self.clean_path.name + ".tmp")
        tmp.write_text(json.dumps({"digest": manifest.digest()}))
        os.replace(tmp, self.clean_path)

    def mark_store_dirty(self) -> None:
        """Before a store write: durably, so a crash during the write leaves the next ingest looking for orphans."""
        if self.clean_path.exists():
            self.clean_path.unlink()
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _file_digest(data: bytes, fingerprint: dict[str, object]) -> str:
    h = hashlib.sha256(data)
    h.update(json.dumps(fingerprint, sort_keys=True).encode())
    return h.hexdigest()


def _pending_files(
    manifest: Manifest, paths: Iterable[Path], fingerprint: dict[str, object], max_bytes: int | None = None
) -> tuple[list[tuple[Path, str, bool]], int, list[LoadError]]:
    """Files that are new or changed since the manifest, as (path, digest, is_new); the unchanged count;
    what could not be found or read."""
    files, failed = discover(paths)
    pending: list[tuple[Path, str, bool]] = []
    unchanged = 0
    for path in files:
        try:
            digest = _file_digest(read_file(path, max_bytes), fingerprint)
        except LoadError as exc:
            failed.append(exc)
            continue
        entry = manifest.documents.get(str(path))
        if entry and entry.sha256 == digest:
            unchanged += 1
        else:
            pending.append((path, digest, entry is None))
    return pending, unchanged, failed


def ingest(
    home: IndexHome, paths: Iterable[Path], prune: bool = False, progress: bool = True
) -> IngestReport:
    started = time.perf_counter()
    settings = home.settings
    report = IngestReport()
    manifest = home.manifest()
    fingerprint = settings.index_fingerprint()
    new_model = bool(manifest.fingerprint) and manifest.fingerprint.get("embed_model") != fingerprint["embed_model"]
    pending, unchanged, failed = _pending_files(manifest, paths, fingerprint, settings.max_file_bytes)
    report.unchanged = unchanged
    report.failed.extend(failed)
    # nothing to write and the store known to match the manifest: Chroma is not even opened
    clean = not (pending or prune or new_model) and not home.shared and home.store_is_clean(manifest)
    if not clean and not home.shared:
        home.mark_store_dirty()
    if new_model:
        manifest.documents.clear()
        home.save_manifest(manifest)  # first: a crash before the reset must not list vectors that are gone
        home.store.reset()  # other vectors, maybe of another size: nothing can be reused
        pending, unchanged, failed = _pending_files(manifest, paths, fingerprint, settings.max_file_bytes)
        report.unchanged = unchanged
    refingerprinted = manifest.fingerprint != fingerprint
    manifest.fingerprint = fingerprint

    changed = bool(pending) or new_model
    known: dict[str, Chunk] = {}  # what this ingest chunked: BM25 need not read those back
    if pending:
        _index_files(home, manifest, pending, report, progress, known)
    if prune:
        changed |= _prune(home, manifest, report)
    if not clean:
        changed |= _drop_orphans(home, manifest, report)
    if changed or refingerprinted:
        home.save_manifest(manifest)
    # a shared index has no BM25 of its own: each replica builds one from the shared manifest
    if not home.shared:
        if changed or not Bm25Index.is_fresh(home.bm25_path, manifest.digest()):
            home.save_bm25(manifest, known)
        if not clean:
            home.mark_store_clean(manifest)
    report.chunks_total = len(manifest.chunk_ids())
    report.seconds = time.perf_counter() - started
    return report


def _index_files(
    home: IndexHome,
    manifest: Manifest,
    pending: list[tuple[Path, str, bool]],
    report: IngestReport,
    progress: bool,
    known: dict[str, Chunk],
) -> None:
    from tqdm import tqdm

    settings = home.settings
    embedder = home.embedder
    stored = home.store.ids()
    bar = tqdm(total=len(pending), unit="doc", desc="ingest", disable=not progress, leave=False)
    batch: list[tuple[Path, str, bool, list[Chunk]]] = []
    batch_chunks = 0
    for path, digest, is_new in pending:
        try:
            doc = load_document(path, settings.max_file_bytes)
            chunks = _chunks(doc, settings, embedder)
        except LoadError as exc:
            report.failed.append(exc)  # what was indexed from this file before stays
            bar.update(1)
            continue
        batch.append((path, digest, is_new, chunks))
        known.update((c.id, c) for c in chunks)
        batch_chunks += len(chunks)
        if batch_chunks >= 512:
            _commit(home, manifest, batch, stored, report)
            bar.update(len(batch))
            batch, batch_chunks = [], 0
    if batch:
        _commit(home, manifest, batch, stored, report)
        bar.update(len(batch))
    bar.close()


def _chunks(doc: Document, settings: Settings, embedder: Embedder) -> list[Chunk]:
    try:
        return chunk_document(
            doc,
            count_tokens=embedder.count_tokens,
            max_tokens=settings.chunk_max_tokens,
            overlap_sentences=settings.chunk_overlap_sentences,
            skipped_sections=settings.skipped_sections,
        )
    except Exception as exc:  # one file the chunker trips on is that file's failure, not the whole run's
        raise LoadError(Path(doc.meta.source_path), f"could not be chunked: {type(exc).__name__}: {exc}") from exc


def _commit(
    home: IndexHome,
    manifest: Manifest,
    batch: list[tuple[Path, str, bool, list[Chunk]]],
    stored: set[str],
    report: IngestReport,
) -> None:
    """Embed and store a batch of documents, then drop their stale chunks, then record them."""
    fresh = [c for _, _, _, chunks in batch for c in chunks if c.id not in stored]
    if fresh:
        texts = [embedding_text(c) for c in fresh]
        reusable = _stored_vectors(home, manifest, batch, stored)
        todo = list(dict.fromkeys(t for t in texts if t not in reusable))
        embedded = dict(zip(todo, home.embedder.embed_passages(todo), strict=True)) if todo else {}
        home.store.add(fresh, [reusable[t] if t in reusable else embedded[t] for t in texts])
        stored.update(c.id for c in fresh)
        report.chunks_added += len(fresh)
        report.vectors_reused += sum(1 for t in texts if t in reusable)
    stale: list[str] = []
    for path, digest, is_new, chunks in batch:
        old = manifest.documents.get(str(path))
        keep = {c.id for c in chunks}
        if old:
            stale += [cid for cid in old.chunk_ids if cid not in keep]
        meta = chunks[0].doc if chunks else None
        manifest.documents[str(path)] = DocEntry(
            source_path=str(path),
            sha256=digest,
            doc_id=chunks[0].doc_id if chunks else "",
            url=meta.url if meta else "",
            title=meta.title if meta else path.name,
            audience=(meta.audience or "any") if meta else "any",
            chunk_ids=[c.id for c in chunks],
        )
        if is_new:
            report.new += 1
        else:
            report.changed += 1
    home.save_manifest(manifest)  # first: a crash now leaves stale chunks as orphans, never lost ones
    if stale:
        home.store.delete(stale)
        stored.difference_update(stale)
        report.chunks_removed += len(stale)


def _stored_vectors(
    home: IndexHome, manifest: Manifest, batch: list[tuple[Path, str, bool, list[Chunk]]], stored: set[str]
) -> dict[str, list[float]]:
    """Vectors already stored for chunks these documents may repeat under new ids, by the text the model read:
    a file moved or copied (same bytes), or one whose path, title or date changed but not its words."""
    paths = {str(path) for path, _, _, _ in batch}
    digests = {digest for _, digest, _, _ in batch}
    names = {path.name for path, _, _, _ in batch}
    keep = {c.id for _, _, _, chunks in batch for c in chunks}
    candidates = [
        cid
        for key, entry in manifest.documents.items()
        if key in paths or entry.sha256 in digests or Path(key).name in names
        for cid in entry.chunk_ids
        if cid in stored and cid not in keep
    ]
    if not candidates:
        return {}
    return {embedding_text(chunk): vector for chunk, vector in home.store.vectors(candidates).values()}


def _drop_orphans(home: IndexHome, manifest: Manifest, report: IngestReport) -> bool:
    """Chunks stored by an ingest that was interrupted before it recorded them belong to no document."""
    orphans = sorted(home.store.ids() - manifest.chunk_ids())
    if orphans:
        home.store.delete(orphans)
        report.chunks_removed += len(orphans)
    return bool(orphans)


def _prune(home: IndexHome, manifest: Manifest, report: IngestReport) -> bool:
    return _drop(home, manifest, [key for key in manifest.documents if not Path(key).exists()], report)


def remove_documents(home: IndexHome, keys: Iterable[str]) -> IngestReport:
    """Take documents out of the index by manifest key (the path they were read from), files there or not; BM25
    is rebuilt, so nothing of them is retrieved any more. An unknown key is an error naming it."""
    started = time.perf_counter()
    report = IngestReport()
    manifest = home.manifest()
    wanted = list(dict.fromkeys(keys))
    unknown = [key for key in wanted if key not in manifest.documents]
    if unknown:
        raise ValueError(f"not in the index: {', '.join(unknown)}")
    if not home.shared:
        home.mark_store_dirty()
    if _drop(home, manifest, wanted, report) and not home.shared:
        home.save_bm25(manifest)
    report.chunks_total = len(manifest.chunk_ids())
    report.seconds = time.perf_counter() - started
    return report


def _drop(home: IndexHome, manifest: Manifest, gone: list[str], report: IngestReport) -> bool:
    stale = [cid for key in gone for cid in manifest.documents.pop(key).chunk_ids]
    if gone:  # first: a crash now leaves orphans, dropped by the next ingest, never listed chunks that are gone
        home.save_manifest(manifest)
    if stale:
        home.store.delete(stale)
        report.chunks_removed += len(stale)
    report.pruned = len(gone)
    return bool(gone)


def stale_files(home: IndexHome, paths: Iterable[Path]) -> list[Path]:
    """Files that are new or changed since they were indexed (what `make demo` checks)."""
    s = home.settings
    pending, _, _ = _pending_files(home.manifest(), paths, s.index_fingerprint(), s.max_file_bytes)
    return [path for path, _, _ in pending]
