"""The embedding model (all-MiniLM-L6-v2) through sentence-transformers. It is called directly, not through
llama-index's HuggingFaceEmbedding wrapper (the same encode call, the same vectors: tests/test_speed.py), so that
answering a question never imports llama-index: a second or more of every cold start."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from guidechat.index.lru import Lru

Vector = list[float]
Matrix = NDArray[np.float32]


class Embedder:
    """Loads the model once; embeds passages in length-sorted batches and caches query and sentence vectors."""

    def __init__(self, model_path: str, batch_size: int = 64, threads: int = 0, sentence_vectors: str = "fp32") -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.batch_size = batch_size
        self._encoder: Any = SentenceTransformer(model_path, device="cpu")
        self._tokenizer: Any = self._encoder.tokenizer
        # answer sentences are ranked against the question at query time; an int8 copy of the model does that
        # about twice as fast (the index and the retrieval query stay float32: EVAL.md compares both)
        self.sentence_vectors = sentence_vectors
        self._sentence_encoder: Any = _int8_copy(self._encoder) if sentence_vectors == "int8" else self._encoder
        self._queries = Lru(1024)
        # sentences of passages many questions retrieve come back often; 20,000 of them take ~30 MB
        self._sentences = Lru(20_000)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def embed_passages(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> list[Vector]:
        """Embed in batches of similar length (less padding), returning vectors in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[Vector] = [[] for _ in texts]
        step = self.batch_size * 4
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            embedded = self._encode([texts[i] for i in batch])
            for i, vector in zip(batch, embedded, strict=True):
                vectors[i] = vector
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_query(self, text: str) -> Vector:
        cached: Vector | None = self._queries.get(text)
        if cached is not None:
            return cached
        vector = self._encode([text])[0]
        self._queries.put(text, vector)
        return vector

    def _encode(self, texts: list[str]) -> list[Vector]:
        embedded = self._encoder.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        vectors: list[Vector] = embedded.tolist()
        return vectors

    def embed_question_for_sentences(self, text: str) -> Vector:
        """The question in the same space as embed_sentences' rows (the retrieval vector when both are float32)."""
        if self._sentence_encoder is self._encoder:
            return self.embed_query(text)
        return [float(x) for x in self.embed_sentences([text])[0]]

    def embed_sentences(self, texts: list[str]) -> Matrix:
        """Unit vectors of short texts, one row each; each distinct text is embedded once."""
        found: dict[str, Matrix] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            cached = self._sentences.get(text)
            if cached is None:
                missing.append(text)
            else:
                found[text] = cached
        if missing:
            # small batches: sentence-transformers sorts by length, so each batch pads to a similar length
            embedded = self._sentence_encoder.encode(
                missing, batch_size=8, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            for text, vector in zip(missing, embedded, strict=True):
                found[text] = np.asarray(vector, dtype=np.float32)
                self._sentences.put(text, found[text])
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[t] for t in texts])


def _int8_copy(encoder: Any) -> Any:
    """The SentenceTransformer with its linear layers dynamically quantized to int8 (CPU)."""
    import torch

    with warnings.catch_warnings():
        # torch marks its quantized tensor types deprecated; the dynamic quantization API still works in 2.13
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(encoder), {torch.nn.Linear}, dtype=torch.qint8)
