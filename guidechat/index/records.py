"""Chunk <-> flat metadata (Chroma and llama-index accept only flat str/int/float values)."""

from __future__ import annotations

import json
from typing import Any

from guidechat.ingest.chunk import passage_heading
from guidechat.ingest.clean import plain_text
from guidechat.types import Chunk, DocMeta


def embedding_text(chunk: Chunk) -> str:
    """What the models read: where the passage sits, then its words."""
    return f"{passage_heading(chunk.doc.title, chunk.section)}\n{plain_text(chunk.text)}"


def to_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.doc.title,
        "url": chunk.doc.url,
        "publisher": chunk.doc.publisher,
        "audience": chunk.doc.audience or "any",
        "updated": chunk.doc.updated,
        "source_path": chunk.doc.source_path,
        "section": json.dumps(list(chunk.section)),
        "evidence": ",".join(chunk.evidence),
        "position": chunk.position,
    }


def from_metadata(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    audience = meta.get("audience")
    doc = DocMeta(
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        publisher=str(meta.get("publisher", "")),
        audience=audience if audience in ("clinician", "patient") else None,
        updated=str(meta.get("updated", "")),
        source_path=str(meta.get("source_path", "")),
    )
    evidence = str(meta.get("evidence", ""))
    return Chunk(
        id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        text=text,
        doc=doc,
        section=tuple(json.loads(str(meta.get("section", "[]")))),
        evidence=tuple(e for e in evidence.split(",") if e),
        position=int(meta.get("position", 0)),
    )
