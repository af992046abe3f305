"""How fast each available forward pass embeds ingest's chunks (#5: could ingest be 2x llama-index defaults?).

    .venv/bin/python benchmarks/ingest_backends.py [--files 12] [--chunks 512]

Chunks some summaries (a fixed random pick) exactly as ingest does, then embeds the same chunk texts with: the
ingest path (sentence-transformers, torch float32, length-sorted batches of 64), ONNX Runtime float32, and ONNX
Runtime's int8 graph (per-channel weights, as answer sentences use) at batches of 64 and 16. Prints chunks/s, CPU
seconds, and the int8 vectors' cosine to the float ones.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import CORPUS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--chunks", type=int, default=512)
    args = parser.parse_args()

    from guidechat.config import Settings, configure_offline_environment
    from guidechat.index.embed import Embedder
    from guidechat.index.onnx_encoder import OnnxEncoder
    from guidechat.index.records import embedding_text
    from guidechat.ingest.chunk import chunk_document
    from guidechat.ingest.loaders import load_document

    configure_offline_environment()
    s = Settings()
    model = s.resolved_embed_model()
    embedder = Embedder(model, s.embed_batch_size)
    files = sorted(CORPUS.glob("*/*.md"))
    random.Random(1).shuffle(files)
    texts: list[str] = []
    for path in files[: args.files]:
        chunks = chunk_document(load_document(Path(path)), count_tokens=embedder.count_tokens,
                                max_tokens=s.chunk_max_tokens, overlap_sentences=s.chunk_overlap_sentences,
                                skipped_sections=s.skipped_sections)
        texts += [embedding_text(c) for c in chunks]
    texts = texts[: args.chunks]
    print(f"{len(texts)} chunks from {args.files} summaries")
    fp32, int8 = OnnxEncoder(model), OnnxEncoder(model, int8=True)

    def run(label: str, embed: Callable[[list[str]], Any]) -> np.ndarray[Any, Any]:
        embed(texts[:64])  # warm: the model loaded, first shapes seen
        wall, cpu = time.perf_counter(), time.process_time()
        out = np.asarray(embed(texts), dtype=np.float32)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{label}: {wall:.1f} s, {len(texts) / wall:.1f} chunks/s, {cpu:.1f} CPU-seconds")
        return out

    exact = run("sentence-transformers, torch float32 (ingest)", embedder.embed_passages)
    run("ONNX Runtime float32, batch 64", lambda t: fp32.encode(t, 64))
    run("ONNX Runtime int8, batch 64", lambda t: int8.encode(t, 64))
    quantized = run("ONNX Runtime int8, batch 16", lambda t: int8.encode(t, 16))
    agreement = np.sum(exact * quantized, axis=1)
    print(f"int8 vs float32 cosine: mean {agreement.mean():.4f}, min {agreement.min():.4f}")


if __name__ == "__main__":
    main()
