"""What is indexed: one entry per source file, with the hash it was indexed at and its chunk ids."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

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

    def digest(self) -> str:
        """Identifies the indexed content (for BM25 freshness and eval reports)."""
        blob = json.dumps(
            [self.fingerprint, sorted((k, v.sha256) for k, v in self.documents.items())], sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
