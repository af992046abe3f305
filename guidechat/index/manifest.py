"""What is indexed: one entry per source file, with the hash it was indexed at and its chunk ids.

Embedded, it is a JSON file in the home folder; on a Chroma server it is a record collection beside the vectors
(SharedManifest), so that every app replica reads the same one."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guidechat.index.store import RecordCollection

MANIFEST_VERSION = 1


@dataclass
class DocEntry:
    source_path: str
    sha256: str  # of the file's bytes and the chunking settings
    doc_id: str
    url: str
    title: str
    audience: str
    chunk_ids: list[str]


@dataclass
class Manifest:
    fingerprint: dict[str, object] = field(default_factory=dict)
    documents: dict[str, DocEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            docs = {k: DocEntry(**v) for k, v in data.get("documents", {}).items()}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise RuntimeError(f"{path}: unreadable index manifest ({exc}); remove it to re-index") from exc
        return cls(fingerprint=data.get("fingerprint", {}), documents=docs)

    def save(self, path: Path) -> None:
        """Atomically: a crash mid-write leaves the previous manifest intact."""
        data = {
            "version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "documents": {k: asdict(v) for k, v in sorted(self.documents.items())},
        }
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(json.dumps(data, indent=1))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    def chunk_ids(self) -> set[str]:
        return {cid for entry in self.documents.values() for cid in entry.chunk_ids}

    def ordered_chunk_ids(self) -> list[str]:
        """Every listed chunk id, by document key, then in document order (the order BM25 holds them in)."""
        return [cid for key in sorted(self.documents) for cid in self.documents[key].chunk_ids]

    def digest(self) -> str:
        """Identifies the indexed content (for BM25 freshness and eval reports)."""
        blob = json.dumps(
            [self.fingerprint, sorted((k, v.sha256) for k, v in self.documents.items())], sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


STATE_KEY = "~state"  # never a source path: those are absolute


class SharedManifest:
    """The manifest as records in a Chroma collection: one per document, plus a state record holding the
    fingerprint and a generation stamp. A save that changes something writes the changed entries, then the
    removals, then the new state (usually all in one upsert, state last): a replica that sees the new generation
    sees the entries that came with it."""

    def __init__(self, records: RecordCollection) -> None:
        self._records = records
        self._saved: dict[str, str] | None = None  # entries as last loaded or saved by this process
        self._saved_fingerprint: dict[str, object] = {}

    def load(self) -> Manifest:
        data = self._records.all()
        try:
            state = json.loads(data.pop(STATE_KEY, "{}"))
            docs = {k: DocEntry(**json.loads(v)) for k, v in data.items()}
        except (ValueError, TypeError) as exc:
            raise RuntimeError(f"shared index manifest: unreadable record ({exc}); re-create the collection") from exc
        self._saved = data
        self._saved_fingerprint = dict(state.get("fingerprint", {}))
        return Manifest(fingerprint=self._saved_fingerprint, documents=docs)

    def generation(self) -> str:
        """Changes with every committed save ("" before the first): cheap, one record read."""
        state = json.loads(self._records.get([STATE_KEY]).get(STATE_KEY) or "{}")
        return f"{state.get('generation', 0)}:{state.get('stamp', '')}" if state else ""

    def save(self, manifest: Manifest) -> None:
        if self._saved is None:
            self.load()
        saved = self._saved or {}
        entries = {k: json.dumps(asdict(v), sort_keys=True) for k, v in sorted(manifest.documents.items())}
        upserts = {k: v for k, v in entries.items() if saved.get(k) != v}
        deletes = [k for k in saved if k not in entries]
        if not upserts and not deletes and manifest.fingerprint == self._saved_fingerprint:
            return  # nothing changed: replicas need not rebuild anything
        if deletes:  # removals land before the new state, like the changed entries
            self._records.write(upserts, deletes)
            upserts = {}
        current = json.loads(self._records.get([STATE_KEY]).get(STATE_KEY) or "{}")
        upserts[STATE_KEY] = json.dumps(
            {
                "version": MANIFEST_VERSION,
                "fingerprint": manifest.fingerprint,
                "generation": int(current.get("generation", 0)) + 1,
                "stamp": uuid.uuid4().hex,  # two writers racing to the same number still differ
                "digest": manifest.digest(),
            }
        )
        self._records.write(upserts)
        self._saved = entries
        self._saved_fingerprint = dict(manifest.fingerprint)
