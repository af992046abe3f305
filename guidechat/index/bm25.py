"""A BM25 index over the same chunks (llama-index's BM25Retriever on bm25s), persisted beside Chroma."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from guidechat.index.records import embedding_text
from guidechat.types import Chunk


class Bm25Index:
    def __init__(self, retriever: Any | None, chunk_ids: list[str]) -> None:
        self._retriever = retriever
        self._ids = chunk_ids

    @classmethod
    def build(cls, chunks: list[Chunk]) -> Bm25Index:
        if not chunks:
            return cls(None, [])
        import Stemmer
        from llama_index.core.schema import BaseNode, TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        nodes: list[BaseNode] = [TextNode(id_=c.id, text=embedding_text(c)) for c in chunks]
        retriever = BM25Retriever.from_defaults(
            nodes=nodes, similarity_top_k=10, stemmer=Stemmer.Stemmer("english"), language="english"
        )
        return cls(retriever, [c.id for c in chunks])

    def save(self, path: Path, fingerprint: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if self._retriever is None:
            tmp.mkdir(parents=True)
        else:
            self._retriever.persist(str(tmp), show_progress=False)
        (tmp / "guidechat.json").write_text(json.dumps({"fingerprint": fingerprint}))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @staticmethod
    def is_fresh(path: Path, fingerprint: str) -> bool:
        try:
            return bool(json.loads((path / "guidechat.json").read_text()).get("fingerprint") == fingerprint)
        except (OSError, ValueError):
            return False

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> Bm25Index | None:
        """The saved index, or None when it is missing or was built from other chunks."""
        if not cls.is_fresh(path, fingerprint):
            return None
        if not (path / "params.index.json").exists():
            return cls(None, [])  # saved empty
        import Stemmer
        from llama_index.retrievers.bm25 import BM25Retriever

        retriever = BM25Retriever.from_persist_dir(str(path), show_progress=False)
        retriever.stemmer = Stemmer.Stemmer("english")
        ids = [node["node_id"] for node in retriever.corpus]
        return cls(retriever, ids)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, score) best first."""
        from llama_index.core.schema import QueryBundle

        if self._retriever is None or not self._ids:
            return []
        self._retriever.similarity_top_k = min(n, len(self._ids))
        results = self._retriever.retrieve(QueryBundle(query_str=query))
        return [(r.node.node_id, float(r.score or 0.0)) for r in results if (r.score or 0.0) > 0]

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a (stemmed) term; 0 when the corpus never uses it."""
        if self._retriever is None:
            return 0
        bm25 = self._retriever.bm25
        stemmed = self._retriever.stemmer.stemWord(term.lower())
        vocab: dict[str, int] = bm25.vocab_dict
        idx = vocab.get(stemmed)
        if idx is None:
            return 0
        scores = bm25.scores
        indptr = scores["indptr"]
        return int(indptr[idx + 1] - indptr[idx])
