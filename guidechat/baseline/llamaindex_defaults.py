"""The llama-index quick start with guidechat's embedding model: SimpleDirectoryReader over the same files,
the default SentenceSplitter, an in-memory VectorStoreIndex, the top 2 nodes, and the retrieved text shown as
the answer. No condensing, no abstaining, no disclaimer: what a user gets without guidechat."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from guidechat.index.manifest import DocEntry, Manifest
from guidechat.text import split_sentences
from guidechat.types import Answer, Audience, Chunk, Citation, DocMeta, Passage, Session, Turn

PRESET = "llamaindex-defaults"
TOP_K = 2  # llama-index's default similarity_top_k


class LlamaIndexDefaults:
    """An Asker over a llama-index default index of the files listed in a guidechat manifest."""

    def __init__(self, index: Any, docs: dict[str, DocEntry], build_s: float | None) -> None:
        self._retriever = index.as_retriever(similarity_top_k=TOP_K)
        self._docs = docs  # by source path
        self.build_s = build_s  # wall time of the build in this process, None when loaded

    @classmethod
    def build_or_load(cls, manifest: Manifest, folder: Path, model_path: str, progress: bool = False) -> Any:
        from llama_index.core import (
            Settings,
            SimpleDirectoryReader,
            StorageContext,
            VectorStoreIndex,
            load_index_from_storage,
        )
        from llama_index.core.llms import MockLLM
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        Settings.embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")  # llama-index defaults
        Settings.llm = MockLLM()  # the defaults would reach for OpenAI; retrieval needs no LLM
        docs = {entry.source_path: entry for entry in manifest.documents.values()}
        stamp = hashlib.sha256(json.dumps(sorted((p, e.sha256) for p, e in docs.items())).encode()).hexdigest()
        persist = folder / stamp[:16]
        if (persist / "docstore.json").exists():
            index = load_index_from_storage(StorageContext.from_defaults(persist_dir=str(persist)))
            return cls(index, docs, None)
        started = time.perf_counter()
        documents = SimpleDirectoryReader(input_files=sorted(docs)).load_data()
        index = VectorStoreIndex.from_documents(documents, show_progress=progress)
        build_s = time.perf_counter() - started
        index.storage_context.persist(persist_dir=str(persist))
        return cls(index, docs, build_s)

    def ask(self, question: str, session: Session, audience: Audience = "clinician") -> Answer:
        started = time.perf_counter()
        nodes = self._retriever.retrieve(question)
        retrieve_ms = (time.perf_counter() - started) * 1000.0
        passages = tuple(self._passage(node, i) for i, node in enumerate(nodes))
        citations = tuple(
            Citation(
                n=i,
                title=p.chunk.doc.title,
                url=p.chunk.doc.url,
                section="",
                updated="",
                text=p.chunk.text,
                chunk_id=p.chunk.id,
            )
            for i, p in enumerate(passages, start=1)
        )
        # the retrieved text is the answer; each sentence keeps the number of the node it came from
        lines = [
            " ".join(f"{sentence} [{c.n}]" for sentence in split_sentences(line))
            for c in citations
            for line in c.text.splitlines()
            if line.strip()
        ]
        total = (time.perf_counter() - started) * 1000.0
        answer = Answer(
            question=question,
            query=question,
            markdown="\n".join(lines),
            citations=citations,
            abstained=False,
            disclaimer="",
            audience=audience,
            timings_ms={"retrieve": retrieve_ms, "compose": total - retrieve_ms, "total": total},
            passages=passages,
        )
        session.turns.append(Turn(question=question, query=question, answer=answer))
        return answer

    def _passage(self, scored: Any, position: int) -> Passage:
        node = scored.node
        entry = self._docs.get(str(node.metadata.get("file_path", "")))
        meta = DocMeta(
            title=entry.title if entry else str(node.metadata.get("file_name", "")),
            url=entry.url if entry else str(node.metadata.get("file_path", "")),
            audience=entry.audience if entry and entry.audience in ("clinician", "patient") else None,  # type: ignore[arg-type]
            source_path=entry.source_path if entry else "",
        )
        doc_id = entry.doc_id if entry else ""
        chunk = Chunk(id=node.node_id, doc_id=doc_id, text=node.get_content(), doc=meta, section=())
        return Passage(chunk=chunk, score=float(scored.score or 0.0), dense_rank=position + 1, similarity=scored.score)
