"""The vector store: an embedded, persistent Chroma collection behind llama-index's ChromaVectorStore."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from guidechat.index.records import from_metadata, to_metadata
from guidechat.types import Audience, Chunk

_CHROMA_KEYS = {"_node_content", "_node_type", "document_id", "ref_doc_id"}


class VectorStore:
    def __init__(self, path: Path, collection: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.vector_stores.chroma import ChromaVectorStore

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collection = self._client.get_or_create_collection(
            name=collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._store = ChromaVectorStore(chroma_collection=self._collection)

    def reset(self) -> None:
        """Drop every vector: a new embedding model (maybe of another dimension) starts a new collection."""
        name = self._collection.name
        self._client.delete_collection(name)
        self._collection = self._client.get_or_create_collection(
            name=name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self._store = ChromaVectorStore(chroma_collection=self._collection)

    def count(self) -> int:
        return int(self._collection.count())

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode

        nodes: list[BaseNode] = []
        for chunk, vector in zip(chunks, vectors, strict=True):
            node = TextNode(id_=chunk.id, text=chunk.text, metadata=to_metadata(chunk), embedding=vector)
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=chunk.doc_id)
            nodes.append(node)
        if nodes:
            self._store.add(nodes)

    def delete(self, chunk_ids: list[str]) -> None:
        for start in range(0, len(chunk_ids), 5000):
            self._store.delete_nodes(node_ids=chunk_ids[start : start + 5000])

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def get(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        got = self._collection.get(ids=chunk_ids, include=["documents", "metadatas"])
        return {c.id: c for c in _chunks(got)}

    def all_chunks(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        total = self.count()
        for offset in range(0, total, 5000):
            got = self._collection.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            chunks.extend(_chunks(got))
        return chunks

    def query(
        self, vector: list[float], n: int, audience: Audience | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, optionally only one audience's documents."""
        from llama_index.core.vector_stores.types import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        if self.count() == 0:
            return []
        filters = None
        if audience:  # documents written for anyone count for both audiences
            accepted = MetadataFilter(key="audience", value=[audience, "any"], operator=FilterOperator.IN)
            filters = MetadataFilters(filters=[accepted])
        result = self._store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=n, filters=filters))
        out = []
        for node, sim in zip(result.nodes or [], result.similarities or [], strict=True):
            cosine = 1.0 + math.log(sim) if sim > 0 else -1.0  # llama-index reports exp(-distance)
            chunk = from_metadata(node.node_id, node.get_content(), _own_metadata(node.metadata))
            out.append((chunk, cosine))
        return out


def _own_metadata(meta: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(meta or {}).items() if k not in _CHROMA_KEYS}


def _chunks(got: Any) -> list[Chunk]:
    documents = got["documents"] or []
    metadatas = got["metadatas"] or []
    return [
        from_metadata(cid, text or "", _own_metadata(meta))
        for cid, text, meta in zip(got["ids"], documents, metadatas, strict=True)
    ]
