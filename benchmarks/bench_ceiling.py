"""The ceiling for ingest (#5): the embedding model's forward pass alone, on guidechat's own chunk texts.

    .venv/bin/python benchmarks/bench_ceiling.py [--docs 60 | --sample 2048] [--batch-sizes 16,32,64,128]

Chunks the documents exactly as ingest does (embedding_text of each chunk), tokenizes them up front in
length-sorted batches, then times only the model (sentence-transformers' modules: BERT, mean pooling,
normalisation) under torch.inference_mode. Tokens are real word pieces (padding not counted). bench_ingest.py
calls forward_ceiling() on the same chunks it ingests, in the same run.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from bench_common import Results, log, subset


def chunk_texts(files: list[Path], count_tokens: Any) -> list[str]:
    """What ingest embeds for these files."""
    from guidechat.config import Settings
    from guidechat.index.records import embedding_text
    from guidechat.ingest.chunk import chunk_document
    from guidechat.ingest.loaders import load_document

    s = Settings()
    texts: list[str] = []
    for path in files:
        chunks = chunk_document(load_document(path), count_tokens=count_tokens, max_tokens=s.chunk_max_tokens,
                                overlap_sentences=s.chunk_overlap_sentences, skipped_sections=s.skipped_sections)
        texts += [embedding_text(c) for c in chunks]
    return texts


def load_model(model_path: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path, device="cpu")


def forward_ceiling(model: Any, texts: list[str], batch_size: int) -> dict[str, float]:
    """Chunks/s and tokens/s of the forward pass alone over `texts` in length-sorted batches."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [model.preprocess([texts[i] for i in order[s : s + batch_size]])
               for s in range(0, len(order), batch_size)]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(int(b["attention_mask"].numel()) for b in batches)
    with torch.inference_mode():
        model(batches[-1])  # warm-up on the shortest batch
        started = time.perf_counter()
        for features in batches:
            model(features)
        seconds = time.perf_counter() - started
    return {"batch_size": batch_size, "chunks": len(texts), "tokens": tokens, "padded_tokens": padded,
            "seconds": seconds, "chunks_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds,
            "torch_threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, help="a subset of this many summaries (default: the whole corpus)")
    parser.add_argument("--sample", type=int, default=2048, help="time this many chunks, drawn at random")
    parser.add_argument("--batch-sizes", default="16,32,64,128")
    args = parser.parse_args()
    from guidechat.config import Settings, configure_offline_environment

    configure_offline_environment()
    results = Results("ceiling")
    model = load_model(Settings().resolved_embed_model())
    files = subset(args.docs)
    texts = chunk_texts(files, lambda t: len(model.tokenizer.encode(t, add_special_tokens=False)))
    if args.sample and len(texts) > args.sample:
        texts = random.Random(5).sample(texts, args.sample)
    results["documents"] = len(files)
    runs = []
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        runs.append(forward_ceiling(model, texts, bs))
        log(f"batch {bs}: {runs[-1]['chunks_per_s']:.1f} chunks/s, {runs[-1]['tokens_per_s']:.0f} tokens/s")
        results["runs"] = runs
    print(results.save())


if __name__ == "__main__":
    main()
