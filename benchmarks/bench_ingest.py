"""Ingest speed (#5): guidechat's ingest against the embedding ceiling and against llama-index defaults, on the
same files in the same run; then a no-op re-ingest and a re-ingest after one file changed.

    .venv/bin/python benchmarks/bench_ingest.py [--docs 60] [--ceiling-sample 1024]

The files (a spread-out subset of ../shared/corpus/pdq, or all of it without --docs) are copied to a temporary
folder and indexed into a temporary home; nothing else is written. In order:
1. the embedding ceiling: bench_ceiling.forward_ceiling on a random sample of the very chunk texts ingest embeds;
2. guidechat ingest, in-process with the model already loaded (model load timed on its own);
3. llama-index defaults on the same files: SimpleDirectoryReader + VectorStoreIndex.from_documents (default
   SentenceSplitter, HuggingFaceEmbedding of the same model with its default batch of 10), model loaded first;
4. no-op re-ingest and one changed file, in-process and as `guidechat ingest` processes (cold: imports, model);
5. with --index-home (a full index, only read): the same two on a copy of it and of the corpus, so the no-op and
   one-changed figures are also measured at full size (hashing 399 files, BM25 rebuilt over every chunk).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_ceiling import chunk_texts, forward_ceiling
from bench_common import BIN, CORPUS, Results, log, offline_env, subset


def change_one_sentence(path: Path, n: int) -> None:
    """Edit one body paragraph (the n-th long prose line) so exactly one section's text changes."""
    lines = path.read_text(encoding="utf-8").split("\n")
    prose = [i for i, line in enumerate(lines) if len(line) > 200 and re.match(r"[A-Z]", line)]
    i = prose[len(prose) // 3 + n]
    lines[i] = lines[i] + f" This sentence was added by the benchmark (edit {n})."
    path.write_text("\n".join(lines), encoding="utf-8")


def cli_ingest(home: Path, docs: Path) -> tuple[float, str]:
    started = time.perf_counter()
    run = subprocess.run([str(BIN / "guidechat"), "--home", str(home), "ingest", str(docs), "--quiet"],
                         capture_output=True, text=True, env=offline_env(), check=True)
    return time.perf_counter() - started, run.stdout.strip()


def full_size_incremental(index_home: Path, tmp: Path, embedder: Any) -> dict[str, Any]:
    """No-op and one changed file on copies of a full index and of the corpus it was made from."""
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome, ingest
    from guidechat.index.manifest import Manifest

    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    home = tmp / "full-home"
    shutil.copytree(index_home, home, ignore=shutil.ignore_patterns("baselines"))
    raw = json.loads((home / "manifest.json").read_text())
    moved = {}
    for key, entry in raw["documents"].items():
        path = str(corpus / Path(key).resolve().relative_to(CORPUS.resolve()))
        moved[path] = {**entry, "source_path": path}
    raw["documents"] = moved
    (home / "manifest.json").write_text(json.dumps(raw))
    # the same chunks under the moved paths: BM25 is as fresh as it was
    (home / "bm25" / "guidechat.json").write_text(json.dumps({"fingerprint": Manifest.load(home / "manifest.json")
                                                              .digest()}))
    out: dict[str, Any] = {"documents": len(moved)}
    indexed = IndexHome(Settings(home=home))
    indexed._embedder = embedder
    noop = ingest(indexed, [corpus], progress=False)
    out["noop_s"] = noop.seconds
    out["noop_summary"] = noop.summary()
    target = max(corpus.glob("*/*.md"), key=lambda p: p.stat().st_size)
    # chunk ids include the source path: the first change of a moved file stores all its chunks anew (their
    # vectors reused, not embedded) and moves BM25 to the format that keeps tokens, so settle it first
    change_one_sentence(target, 0)
    settle = ingest(indexed, [corpus], progress=False)
    out["settle"] = {"seconds": settle.seconds, "vectors_reused": settle.vectors_reused, "summary": settle.summary()}
    change_one_sentence(target, 1)
    one = ingest(indexed, [corpus], progress=False)
    out["one_changed"] = {"seconds": one.seconds, "file": target.name, "added": one.chunks_added,
                          "removed": one.chunks_removed}
    seconds, summary_ = cli_ingest(home, corpus)
    out["cli_noop"] = {"seconds": seconds, "output": summary_}
    change_one_sentence(target, 2)
    seconds, summary_ = cli_ingest(home, corpus)
    out["cli_one_changed"] = {"seconds": seconds, "output": summary_}
    return out


def llamaindex_defaults_build(files: list[Path], model_path: str) -> dict[str, Any]:
    from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    Settings.embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")  # its defaults
    Settings.llm = MockLLM()
    Settings.embed_model.get_text_embedding("warm up")
    started = time.perf_counter()
    documents = SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data()
    index = VectorStoreIndex.from_documents(documents)
    seconds = time.perf_counter() - started
    # what its embeddings read: the model keeps the first max_seq_length word pieces of each node (untimed)
    encoder: Any = Settings.embed_model._model
    lengths = [len(encoder.tokenizer.encode(node.get_content(metadata_mode=MetadataMode.EMBED)))
               for node in index.docstore.docs.values()]
    window = int(encoder.max_seq_length)
    read = sum(min(n, window) for n in lengths)
    return {"seconds": seconds, "nodes": len(lengths), "word_pieces": sum(lengths), "word_pieces_read": read}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, help="a subset of this many summaries (default: the whole corpus)")
    parser.add_argument("--ceiling-sample", type=int, default=1024, help="chunks timed for the ceiling")
    parser.add_argument("--ceiling-batch-sizes", default="32,64,128")
    parser.add_argument("--skip-baseline", action="store_true", help="leave out llama-index defaults")
    parser.add_argument("--index-home", type=Path, help="a full index: no-op and one-changed at full size on a copy")
    parser.add_argument("--only-full-size", action="store_true", help="only step 5 (needs --index-home)")
    args = parser.parse_args()

    from guidechat.config import Settings, configure_offline_environment
    from guidechat.index.embed import Embedder
    from guidechat.index.indexer import IndexHome, ingest

    configure_offline_environment()
    name = "ingest-full" if args.docs is None else "ingest-subset"
    if args.only_full_size:
        name = "ingest-full-size"
    results = Results(name)
    tmp = Path(tempfile.mkdtemp(prefix="guidechat-bench-"))
    try:
        docs = tmp / "docs"
        docs.mkdir()
        files = subset(args.docs)
        for f in files:  # same base names in hp/ and patient/ do not occur in the PDQ corpus
            shutil.copy2(f, docs / f"{f.parent.name}-{f.name}")
        copies = sorted(docs.iterdir())
        settings = Settings(home=tmp / "home")
        started = time.perf_counter()
        embedder = Embedder(settings.resolved_embed_model(), settings.embed_batch_size, settings.embed_threads)
        results["model_load_s"] = time.perf_counter() - started
        results["documents"] = len(copies)
        results["embed_batch_size"] = settings.embed_batch_size
        if args.index_home:
            log(f"no-op and one changed file on a copy of {args.index_home}")
            results["full_size"] = full_size_incremental(args.index_home, tmp, embedder)
            log(f"full size: {results.data['full_size']}")
        if args.only_full_size:
            return

        texts = chunk_texts(copies, embedder.count_tokens)
        encoder = embedder._encoder
        tokens = sum(len(encoder.tokenizer.encode(t, truncation=True, max_length=encoder.max_seq_length))
                     for t in texts)
        results["chunks"] = len(texts)
        results["tokens"] = tokens
        sample = random.Random(5).sample(texts, min(len(texts), args.ceiling_sample))
        ceiling = []
        for bs in sorted({settings.embed_batch_size, *(int(b) for b in args.ceiling_batch_sizes.split(","))}):
            ceiling.append(forward_ceiling(encoder, sample, bs))
            log(f"ceiling, batch {bs}: {ceiling[-1]['chunks_per_s']:.1f} chunks/s, "
                f"{ceiling[-1]['tokens_per_s']:.0f} tokens/s")
            results["ceiling"] = ceiling

        home = IndexHome(settings)
        home._embedder = embedder
        log(f"guidechat ingest of {len(copies)} documents ({len(texts)} chunks)")
        report = ingest(home, [docs], progress=False)
        results["guidechat"] = {"seconds": report.seconds, "chunks": report.chunks_added, "failed": len(report.failed),
                                "chunks_per_s": report.chunks_added / report.seconds,
                                "tokens_per_s": tokens / report.seconds}
        log(report.summary())

        if not args.skip_baseline:
            log("llama-index defaults on the same files")
            results["llamaindex_defaults"] = llamaindex_defaults_build(copies, settings.resolved_embed_model())
            log(f"llama-index defaults: {results.data['llamaindex_defaults']}")

        noop = ingest(home, [docs], progress=False)
        results["noop_s"] = noop.seconds
        target = max(copies, key=lambda p: p.stat().st_size)  # the biggest file: its hash and chunking cost most
        change_one_sentence(target, 0)
        one = ingest(home, [docs], progress=False)
        results["one_changed"] = {"seconds": one.seconds, "file": target.name, "added": one.chunks_added,
                                  "removed": one.chunks_removed}
        log(f"no-op {noop.seconds:.2f} s; one changed file {one.summary()}")

        seconds, out = cli_ingest(home.root, docs)
        results["cli_noop"] = {"seconds": seconds, "output": out}
        change_one_sentence(target, 1)
        seconds, out = cli_ingest(home.root, docs)
        results["cli_one_changed"] = {"seconds": seconds, "output": out}
        log(f"CLI no-op {results.data['cli_noop']}; CLI one changed {results.data['cli_one_changed']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(results.save())


if __name__ == "__main__":
    main()
