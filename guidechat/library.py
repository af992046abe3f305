"""The document library behind the UI's Library tab: what is indexed, uploads (checked, stored under the home
folder, ingested) and removal. No gradio here; guidechat/ui/library.py draws it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from guidechat.index.indexer import IndexHome, IngestReport, ingest, remove_documents
from guidechat.ingest.uploads import UploadError, store_upload
from guidechat.types import AUDIENCES, Scope

__all__ = ["Library", "LibraryDoc", "UploadError", "scope_for"]


@dataclass(frozen=True)
class LibraryDoc:
    key: str  # the manifest key: the path the document was read from
    title: str
    url: str
    publisher: str
    audience: str  # clinician, patient or any
    updated: str
    chunks: int
    uploaded: bool  # stored under the home folder by an upload (removing it deletes that copy)

    def matches(self, text: str) -> bool:
        wanted = text.lower().split()
        haystack = " ".join((self.title, self.publisher, self.audience, self.updated, self.url, self.key)).lower()
        return all(w in haystack for w in wanted)


class Library:
    def __init__(self, home: IndexHome, on_change: Callable[[], None] = lambda: None) -> None:
        """`on_change` runs after every upload or removal (the chat pipeline reloads BM25 and its caches)."""
        self.home = home
        self.uploads = home.root / "uploads"
        self.on_change = on_change
        self._lock = threading.Lock()  # one ingest or removal at a time
        self._listed: tuple[str, list[LibraryDoc]] | None = None

    def documents(self) -> list[LibraryDoc]:
        """Every indexed document, by title (read from the manifest and one stored chunk of each)."""
        manifest = self.home.manifest()
        digest = manifest.digest()
        if self._listed is not None and self._listed[0] == digest:
            return self._listed[1]
        first = {key: entry.chunk_ids[0] for key, entry in manifest.documents.items() if entry.chunk_ids}
        chunks = self.home.store.get(sorted(set(first.values())))
        docs = []
        for key, entry in manifest.documents.items():
            chunk = chunks.get(first.get(key, ""))
            docs.append(LibraryDoc(
                key=key,
                title=entry.title,
                url=entry.url,
                publisher=chunk.doc.publisher if chunk else "",
                audience=entry.audience,
                updated=chunk.doc.updated if chunk else "",
                chunks=len(entry.chunk_ids),
                uploaded=Path(key).parent == self.uploads.resolve(),
            ))
        docs.sort(key=lambda d: (d.title.lower(), d.key))
        self._listed = (digest, docs)
        return docs

    def search(self, text: str) -> list[LibraryDoc]:
        """Documents whose title, publisher, audience, date, url or path hold every word of `text`."""
        return [d for d in self.documents() if d.matches(text)] if text.strip() else self.documents()

    def add(self, files: Sequence[tuple[Path, str]], progress: bool = False) -> IngestReport:
        """Store uploaded files (each a temporary path and the name it was uploaded as) under home/uploads, checked
        by guidechat/ingest/uploads.py, and ingest them. One refused file refuses the lot (UploadError naming it);
        a file that ingest cannot read is reported in the IngestReport and not kept."""
        with self._lock:
            stored: list[Path] = []
            try:
                for path, name in files:
                    stored.append(store_upload(path, name, self.uploads, self.home.settings.max_file_bytes))
            except UploadError:
                for path in stored:
                    path.unlink(missing_ok=True)
                raise
            report = ingest(self.home, stored, progress=progress)
            indexed = self.home.manifest().documents
            for failure in report.failed:
                path = failure.path.resolve()
                if path in stored and str(path) not in indexed:
                    path.unlink(missing_ok=True)
            self._listed = None
            self.on_change()
        return report

    def remove(self, keys: Sequence[str]) -> IngestReport:
        """Take documents out of the index (and delete uploaded copies); answers stop citing them at once."""
        with self._lock:
            report = remove_documents(self.home, keys)
            uploads = self.uploads.resolve()
            for key in keys:
                if Path(key).parent == uploads:
                    Path(key).unlink(missing_ok=True)
            self._listed = None
            self.on_change()
        return report


def scope_for(keys: Sequence[str], audience: str | None) -> Scope:
    """The Scope a library selection asks for ("any"/"" audience: no audience restriction)."""
    chosen = next((a for a in AUDIENCES if a == audience), None)
    return Scope(documents=frozenset(keys), audience=chosen)
