"""The embedding model (all-MiniLM-L6-v2 through sentence-transformers, via llama-index)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Vector = list[float]


class Embedder:
    """Loads the model once; embeds passages in length-sorted batches and caches query vectors."""

    def __init__(self, model_path: str, batch_size: int = 64, threads: int = 0) -> None:
        import torch
        from llama_index.core import Settings as LlamaSettings
        from llama_index.core.llms import MockLLM
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        if threads:
            torch.set_num_threads(threads)
        self._model = HuggingFaceEmbedding(
            model_name=model_path, device="cpu", embed_batch_size=batch_size, normalize=True
        )
        LlamaSettings.embed_model = self._model
        LlamaSettings.llm = MockLLM()  # no LLM on this path; never reach for llama-index's default remote one
        self._tokenizer: Any = self._model._model.tokenizer
        self._cache: OrderedDict[str, Vector] = OrderedDict()

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def embed_passages(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> list[Vector]:
        """Embed in batches of similar length (less padding), returning vectors in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[Vector] = [[] for _ in texts]
        step = self._model.embed_batch_size * 4
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            embedded = self._model.get_text_embedding_batch([texts[i] for i in batch])
            for i, vector in zip(batch, embedded, strict=True):
                vectors[i] = vector
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_query(self, text: str) -> Vector:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        vector = self._model.get_query_embedding(text)
        self._cache[text] = vector
        if len(self._cache) > 1024:
            self._cache.popitem(last=False)
        return vector

    def embed_sentences(self, texts: list[str]) -> list[Vector]:
        return self._model.get_text_embedding_batch(texts) if texts else []
