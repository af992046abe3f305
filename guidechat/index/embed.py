"""The embedding model (all-MiniLM-L6-v2). Ingest runs it through sentence-transformers, called directly rather
than through llama-index's HuggingFaceEmbedding wrapper (the same encode call and vectors: tests/test_speed.py);
questions and answer sentences go through ONNX Runtime (guidechat/index/onnx_encoder.py, the same vectors), so
answering a question imports neither llama-index nor torch: most of a cold start."""

from __future__ import annotations

import copy
import logging
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from guidechat.index.lru import Lru
from guidechat.index.onnx_encoder import OnnxEncoder, UnsupportedModel

log = logging.getLogger(__name__)

SMALL_INGEST = 64  # chunks; fewer are embedded on ONNX Runtime when torch is not loaded yet

Vector = list[float]
Matrix = NDArray[np.float32]


class Embedder:
    """Embeds passages (ingest: sentence-transformers, length-sorted batches) and questions and answer sentences
    (ONNX Runtime unless query_backend is "torch"); caches question and sentence vectors. Each model is loaded on
    first use, so answering never loads torch and a no-op ingest loads nothing."""

    def __init__(
        self,
        model_path: str,
        batch_size: int = 64,
        threads: int = 0,
        sentence_vectors: str = "fp32",
        query_backend: str = "onnx",
        onnx_cache: Path | None = None,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        # answer sentences are ranked against the question at query time; an int8 copy of the model does that
        # with 2.4x less CPU (the index and the retrieval query stay float32: EVAL.md compares both)
        self.sentence_vectors = sentence_vectors
        self.query_backend = query_backend
        self.onnx_cache = onnx_cache
        self._st: Any = None
        self._questions: Any = None
        self._int8: Any = None
        self._counter: Any = None
        self._lock = threading.RLock()
        self._queries = Lru(1024)
        # sentences of passages many questions retrieve come back often; 20,000 of them take ~30 MB
        self._sentences = Lru(20_000)

    @property
    def _encoder(self) -> Any:
        """The SentenceTransformer (ingest, and questions when query_backend is "torch")."""
        with self._lock:
            if self._st is None:
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    torch.set_num_threads(self.threads)
                self._st = SentenceTransformer(self.model_path, device="cpu")
            return self._st

    @property
    def _question_encoder(self) -> Any:
        """ONNX Runtime's forward pass of the same model; sentence-transformers where it cannot be had."""
        with self._lock:
            if self._questions is None:
                encoder: Any = None
                if self.query_backend == "onnx":
                    try:
                        encoder = _Unbatched(OnnxEncoder(self.model_path, self.onnx_cache, self.threads))
                    except (UnsupportedModel, ImportError, OSError, RuntimeError) as exc:
                        log.warning("questions are embedded with sentence-transformers: no ONNX model (%s)", exc)
                self._questions = encoder or self._encoder
            return self._questions

    @property
    def _sentence_encoder(self) -> Any:
        if self.sentence_vectors != "int8":
            return self._question_encoder
        with self._lock:
            if self._int8 is None:
                if self.query_backend == "onnx":
                    try:
                        self._int8 = _Unbatched(OnnxEncoder(self.model_path, self.onnx_cache, self.threads, int8=True))
                    except (UnsupportedModel, ImportError, OSError, RuntimeError) as exc:
                        log.warning("answer sentences use torch's int8 copy: no ONNX model (%s)", exc)
                if self._int8 is None:
                    self._int8 = _int8_copy(self._encoder)
            return self._int8

    def count_tokens(self, text: str) -> int:
        """Word pieces without [CLS]/[SEP], from the model's tokenizer.json where it has one (the same tokenizer
        sentence-transformers wraps, without importing it): chunking a changed file then loads no torch."""
        with self._lock:
            if self._counter is None:
                tokenizer_file = Path(self.model_path) / "tokenizer.json"
                if tokenizer_file.exists():
                    from tokenizers import Tokenizer

                    counter = Tokenizer.from_file(str(tokenizer_file))
                    counter.no_truncation()
                    counter.no_padding()
                    self._counter = lambda t: len(counter.encode(t, add_special_tokens=False).ids)
                else:
                    self._counter = lambda t: len(self._encoder.tokenizer.encode(t, add_special_tokens=False))
            count: Callable[[str], int] = self._counter
        return count(text)

    def embed_passages(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> list[Vector]:
        """Embed in batches of similar length (less padding), returning vectors in input order."""
        if 0 < len(texts) <= SMALL_INGEST and self._st is None and self.query_backend == "onnx":
            # a few changed chunks: the question side's ONNX model (the same vectors) spares loading torch
            encoder = self._question_encoder
            if encoder is not self._st:
                small: list[Vector] = encoder.encode(texts, batch_size=self.batch_size).tolist()
                if on_batch:
                    on_batch(len(texts))
                return small
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[Vector] = [[] for _ in texts]
        step = self.batch_size * 4
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            embedded = _unit_rows(self._encoder, [texts[i] for i in batch], self.batch_size)
            for i, vector in zip(batch, embedded.tolist(), strict=True):
                vectors[i] = vector
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_query(self, text: str) -> Vector:
        cached: Vector | None = self._queries.get(text)
        if cached is not None:
            return cached
        vector: Vector = _unit_rows(self._question_encoder, [text], 1)[0].tolist()
        self._queries.put(text, vector)
        return vector

    def embed_texts(self, texts: list[str]) -> Matrix:
        """Unit vectors, one row each, on the question side's model and outside every cache (eval's answer-to-gold
        similarity: long texts that would only push questions and sentences out)."""
        return _unit_rows(self._question_encoder, texts, 8)

    def embed_question_for_sentences(self, text: str) -> Vector:
        """The question in the same space as embed_sentences' rows (the retrieval vector when both are float32)."""
        if self._sentence_encoder is self._question_encoder:
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
            # small batches of similar length: each pads to little more than its own sentences
            for text, vector in zip(missing, _unit_rows(self._sentence_encoder, missing, 8), strict=True):
                found[text] = vector
                self._sentences.put(text, vector)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[t] for t in texts])


def _unit_rows(encoder: Any, texts: list[str], batch_size: int) -> Matrix:
    """Unit vectors, one float32 row per text, from a SentenceTransformer or an _Unbatched ONNX encoder."""
    embedded = encoder.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(embedded, dtype=np.float32)


class _Unbatched:
    """OnnxEncoder behind SentenceTransformer.encode's keywords (always unit vectors, as numpy)."""

    def __init__(self, encoder: OnnxEncoder) -> None:
        self.encoder = encoder

    def encode(self, texts: list[str], batch_size: int = 32, **_: Any) -> Matrix:
        return self.encoder.encode(texts, batch_size)


def _int8_copy(encoder: Any) -> Any:
    """The SentenceTransformer with its linear layers dynamically quantized to int8 (CPU)."""
    import torch

    with warnings.catch_warnings():
        # torch marks its quantized tensor types deprecated; the dynamic quantization API still works in 2.13
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(encoder), {torch.nn.Linear}, dtype=torch.qint8)
