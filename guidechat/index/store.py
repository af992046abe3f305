"""The vector store: a Chroma collection behind llama-index's ChromaVectorStore, either embedded and persistent
under the home folder or on a Chroma server (`chroma run`) shared by several app replicas."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from guidechat.index.lru import Lru
from guidechat.index.records import from_metadata, to_metadata
from guidechat.types import Audience, Chunk

_CHROMA_KEYS = {"_node_content", "_node_type", "document_id", "ref_doc_id"}
# An audience's nearest chunks are picked out of an unfiltered query of n x 10 (then n x 40) results: Chroma's
# filtered search reads every record's metadata (~150 ms on the full PDQ index, against ~4 ms for 400 ids)
_AUDIENCE_SCAN = (10, 40)


class IndexUnavailable(RuntimeError):
    """chroma_url is not a server URL, or the Chroma server it names cannot be reached."""


def _connect(path: Path, url: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not url:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 or parts.path not in ("", "/"):
        raise IndexUnavailable(f"chroma_url {url!r}: expected http://HOST:PORT (or https://HOST:PORT)")
    try:
        return chromadb.HttpClient(
            host=parts.hostname,
            port=port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https",
            settings=settings,
        )
    except Exception as exc:  # chromadb raises ValueError, httpx errors, ...: all mean "not reachable"
        raise IndexUnavailable(f"chroma_url {url}: cannot reach the Chroma server ({exc})") from exc


class VectorStore:
    def __init__(self, path: Path, collection: str, url: str = "") -> None:
        """Embedded under `path` unless `url` names a Chroma server."""
        self._client = _connect(path, url)
        self._name = collection
        self._audience_of: dict[str, str] = {}  # chunk id -> audience; ids hash the metadata, so it never changes
        # chunks by id, for the same reason: the passages many questions retrieve are read from Chroma once
        self._chunks = Lru(8192)
        self.reopen()

    def reopen(self) -> None:
        """Look the collection up (again) by name: another process may have dropped and re-created it."""
        self._collection = self._client.get_or_create_collection(
            name=self._name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._llama_store: Any = None
        self._chunks.clear()

    @property
    def _store(self) -> Any:
        """llama-index's view of the collection, made on first use (importing llama-index takes a second or more,
        which an ingest with nothing to write should not pay)."""
        if self._llama_store is None:
            from llama_index.core import Settings as LlamaSettings
            from llama_index.core.embeddings import MockEmbedding
            from llama_index.core.llms import MockLLM
            from llama_index.vector_stores.chroma import ChromaVectorStore

            # guidechat hands llama-index its vectors; nothing may fall back on the defaults, which reach for OpenAI
            if LlamaSettings._embed_model is None:
                LlamaSettings.embed_model = MockEmbedding(embed_dim=1)
            if LlamaSettings._llm is None:
                LlamaSettings.llm = MockLLM()
            self._llama_store = ChromaVectorStore(chroma_collection=self._collection)
        return self._llama_store

    def records(self, name: str) -> RecordCollection:
        """A small key -> JSON collection on the same Chroma (the shared manifest lives in one)."""
        return RecordCollection(self._client, name)

    def reset(self) -> None:
        """Drop every vector: a new embedding model (maybe of another dimension) starts a new collection."""
        self._client.delete_collection(self._name)
        self.reopen()

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
        self._chunks.discard(chunk_ids)
        for start in range(0, len(chunk_ids), 5000):
            self._store.delete_nodes(node_ids=chunk_ids[start : start + 5000])

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def get(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        missing = []
        for cid in chunk_ids:
            cached = self._chunks.get(cid)
            if cached is None:
                missing.append(cid)
            else:
                out[cid] = cached
        for start in range(0, len(missing), 5000):
            got = self._collection.get(ids=missing[start : start + 5000], include=["documents", "metadatas"])
            for chunk in _chunks(got):
                out[chunk.id] = chunk
                self._chunks.put(chunk.id, chunk)
        return out

    def vectors(self, chunk_ids: list[str]) -> dict[str, tuple[Chunk, list[float]]]:
        """Stored chunks with their vectors."""
        out: dict[str, tuple[Chunk, list[float]]] = {}
        for start in range(0, len(chunk_ids), 5000):
            got = self._collection.get(
                ids=chunk_ids[start : start + 5000], include=["documents", "metadatas", "embeddings"]
            )
            embeddings = got["embeddings"] if got["embeddings"] is not None else []
            for chunk, vector in zip(_chunks(got), embeddings, strict=True):
                out[chunk.id] = (chunk, [float(x) for x in vector])
        return out

    def all_chunks(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        total = self.count()
        for offset in range(0, total, 5000):
            got = self._collection.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            chunks.extend(_chunks(got))
        return chunks

    def query(
        self, vector: list[float], n: int, audience: Audience | None = None, doc_ids: Collection[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, optionally only one audience's documents, optionally only
        the documents with these ids."""
        if self.count() == 0 or (doc_ids is not None and not doc_ids):
            return []
        if audience and doc_ids is None:
            nearest = self._nearest_of_audience(vector, n, audience)
            if nearest is not None:
                return nearest
        from llama_index.core.vector_stores.types import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        accepted: list[MetadataFilter | MetadataFilters] = []
        if audience:  # documents written for anyone count for both audiences
            accepted.append(MetadataFilter(key="audience", value=[audience, "any"], operator=FilterOperator.IN))
        if doc_ids is not None:
            accepted.append(MetadataFilter(key="doc_id", value=sorted(doc_ids), operator=FilterOperator.IN))
        filters = MetadataFilters(filters=accepted) if accepted else None
        result = self._store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=n, filters=filters))
        out = []
        for node, sim in zip(result.nodes or [], result.similarities or [], strict=True):
            cosine = 1.0 + math.log(sim) if sim > 0 else -1.0  # llama-index reports exp(-distance)
            chunk = from_metadata(node.node_id, node.get_content(), _own_metadata(node.metadata))
            out.append((chunk, cosine))
        return out

    def nearest(
        self, vector: list[float], n: int, audience: Audience
    ) -> tuple[list[tuple[Chunk, float]], list[tuple[Chunk, float]]]:
        """The n nearest chunks of all documents and the n nearest of the audience's (or anyone's), from one scan
        where it holds them both (what query() gives for each)."""
        scanned = self._scan(vector, n, audience)
        if scanned is None:
            return self.query(vector, n), self.query(vector, n, audience)
        return scanned

    def _nearest_of_audience(self, vector: list[float], n: int, audience: Audience) -> list[tuple[Chunk, float]] | None:
        scanned = self._scan(vector, n, audience)
        return None if scanned is None else scanned[1]

    def _scan(
        self, vector: list[float], n: int, audience: Audience
    ) -> tuple[list[tuple[Chunk, float]], list[tuple[Chunk, float]]] | None:
        """The nearest n of all and of the audience's (or anyone's) documents, when the latter are all among an
        unfiltered query's results; None when they are not (the filtered query then finds them)."""
        for factor in _AUDIENCE_SCAN:  # no count() first: it costs as much as the query, which may ask too many
            k = n * factor
            got = self._collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
            ids, distances = got["ids"][0], got["distances"][0]
            audiences = self._audiences(ids)
            every = list(zip(ids, distances, strict=True))
            picked = [(cid, d) for cid, d in every if audiences[cid] in (audience, "any")]
            if len(picked) >= n or len(ids) < k:  # enough, or every chunk there is
                chunks = self.get(list(dict.fromkeys(cid for cid, _ in every[:n] + picked[:n])))
                nearest_all = [(chunks[cid], 1.0 - d) for cid, d in every[:n] if cid in chunks]  # cosine distance
                nearest_pref = [(chunks[cid], 1.0 - d) for cid, d in picked[:n] if cid in chunks]
                return nearest_all, nearest_pref
        return None

    def know_audiences(self, audience_of: dict[str, str]) -> None:
        """Chunks' audiences known elsewhere (the manifest): scans then read no metadata for them."""
        self._audience_of.update(audience_of)

    def _audiences(self, ids: list[str]) -> dict[str, str]:
        unknown = [cid for cid in ids if cid not in self._audience_of]  # learnt once per chunk, as they come up
        if unknown:
            got = self._collection.get(ids=unknown, include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                self._audience_of[cid] = str((meta or {}).get("audience", "any"))
        return {cid: self._audience_of.get(cid, "") for cid in ids}


class RecordCollection:
    """Text records by key in a Chroma collection. Chroma stores a vector with every record, so each gets a
    one-number placeholder; nothing here is ever searched by similarity."""

    def __init__(self, client: Any, name: str) -> None:
        self._collection = client.get_or_create_collection(name=name, embedding_function=None)
        self._batch = int(client.get_max_batch_size())

    def get(self, keys: list[str]) -> dict[str, str]:
        got = self._collection.get(ids=keys, include=["documents"])
        return dict(zip(got["ids"], got["documents"] or [], strict=True))

    def all(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for offset in range(0, int(self._collection.count()), self._batch):
            got = self._collection.get(include=["documents"], limit=self._batch, offset=offset)
            out.update(zip(got["ids"], got["documents"] or [], strict=True))
        return out

    def write(self, upserts: dict[str, str], deletes: Iterable[str] = ()) -> None:
        """Upserts in order (what must land last goes last), then deletes."""
        items = list(upserts.items())
        for start in range(0, len(items), self._batch):
            part = items[start : start + self._batch]
            self._collection.upsert(
                ids=[k for k, _ in part], documents=[v for _, v in part], embeddings=[[0.0] for _ in part]
            )
        gone = list(deletes)
        for start in range(0, len(gone), self._batch):
            self._collection.delete(ids=gone[start : start + self._batch])


def _own_metadata(meta: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(meta or {}).items() if k not in _CHROMA_KEYS}


def _chunks(got: Any) -> list[Chunk]:
    documents = got["documents"] or []
    metadatas = got["metadatas"] or []
    return [
        from_metadata(cid, text or "", _own_metadata(meta))
        for cid, text, meta in zip(got["ids"], documents, metadatas, strict=True)
    ]
