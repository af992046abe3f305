"""Several app replicas on one Chroma server: each keeps its own in-memory BM25 in step with the shared manifest."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from guidechat.index.bm25 import Bm25Index
from guidechat.index.manifest import SharedManifest
from guidechat.index.store import VectorStore

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"^[0-9a-f]{16}$")


class SharedBm25:
    """BM25 over exactly the chunks the shared manifest lists, not whatever an ingest in progress has stored.
    Each new index starts from the previous one (kept, or the latest in the cache), so a rebuild fetches and
    tokenizes only chunks new to it; a local cache keyed by the manifest digest lets a restarted replica (or a
    one-off `ask`) skip the fetch and the build."""

    def __init__(self, store: VectorStore, manifest: SharedManifest, cache_dir: Path) -> None:
        self.manifest = manifest
        self._store = store
        self._cache_dir = cache_dir
        self._previous: Bm25Index | None = None
        self.generation = ""  # of the manifest the latest load read

    def changed(self) -> bool:
        """Whether an ingest has committed since the latest load (one record read)."""
        return self.manifest.generation() != self.generation

    def load(self) -> Bm25Index:
        self.generation = self.manifest.generation()  # first: a commit during the load costs one more rebuild
        manifest = self.manifest.load()
        self._store.reopen()  # a model change re-creates the collection under the same name
        digest = manifest.digest()
        bm25 = Bm25Index.load(self._cache_dir / digest, digest)
        if bm25 is None:
            previous = self._previous or self._latest_cached() or Bm25Index(None, [])
            bm25 = previous.updated(manifest.ordered_chunk_ids(), self._store.get)
            self._cache(bm25, digest)
        self._previous = bm25
        return bm25

    def _latest_cached(self) -> Bm25Index | None:
        """The newest index in the cache, whatever chunks it holds: the tokens of those still listed are reused."""
        try:
            saved = [p for p in self._cache_dir.iterdir() if _DIGEST.match(p.name)]
        except OSError:
            return None
        for path in sorted(saved, key=_mtime, reverse=True):
            found = Bm25Index.load(path, None)
            if found is not None:
                return found
        return None

    def _cache(self, bm25: Bm25Index, digest: str) -> None:
        """Best effort: replicas sharing a home race here; the first to rename wins, the others drop theirs."""
        own = self._cache_dir / f"{digest}.{os.getpid()}"
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            bm25.save(own, digest)
            os.rename(own, self._cache_dir / digest)
        except OSError:
            shutil.rmtree(own, ignore_errors=True)
        for old in self._cache_dir.iterdir():
            if _DIGEST.match(old.name) and old.name != digest:
                shutil.rmtree(old, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class IndexFollower:
    """A daemon thread that checks the shared index every `interval` seconds and, when another process's
    ingest has moved it, builds the new BM25 off the request path and hands it over; questions are answered
    from the previous index until then."""

    def __init__(self, shared: SharedBm25, on_change: Callable[[Bm25Index], None], interval: float) -> None:
        self._shared = shared
        self._on_change = on_change
        self._interval = max(interval, 0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guidechat-index-follower", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def poll(self) -> bool:
        """One check; True when the index had changed and the new one was handed over."""
        if not self._shared.changed():
            return False
        self._on_change(self._shared.load())
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self.poll():
                    log.info("shared index changed: now at generation %s", self._shared.generation)
                self._failing = False
            except Exception:  # the server may be restarting: keep answering from what we have, retry
                if not self._failing:
                    log.warning("cannot refresh the shared index; retrying every %.1f s", self._interval, exc_info=True)
                self._failing = True
