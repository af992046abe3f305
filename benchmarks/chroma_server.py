"""Chroma server vs embedded (#5): the same PDQ summaries ingested into an embedded index and into a Chroma server
(`chroma run`, the pinned chromadb), then the same questions asked through each.

    .venv/bin/python benchmarks/chroma_server.py [--docs 40] [--queries 40] [--append BENCHMARKS.md]

The documents are the ones the dev eval suites cite most (so the questions have answers in the index); the
questions are those suites' first turns whose gold document is among them, plus the ones the corpus does not
answer. Embedding is the same work in both modes (one model, one process), so the chunks are embedded once up
front and timed once; each mode's ingest then takes its vectors from that cache, and what is timed per mode is
what differs: chunking, storing, the manifest. Questions alternate between the modes one by one, so load from
other processes on the machine falls on both alike. Also measured: the replica's generation check, its
catch-up after another process ingests one more summary, and a BM25 build over the full corpus's chunks (a
replica's rebuild at full scale; chunked with the real tokenizer, nothing embedded or stored). Everything lives
in a temporary folder; ../shared is only read. Prints a markdown section (and appends it to --append FILE).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.chroma_helpers starts the server the same way the tests do

from guidechat.config import Settings, configure_offline_environment  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pdq"
SUITES = [ROOT.parent / "shared" / "eval" / name for name in ("clinician-dev.jsonl", "medquad-cancergov-dev.jsonl")]


def _urls() -> dict[str, Path]:
    out = {}
    for path in sorted(CORPUS.glob("*/*.md")):
        found = re.search(r"^url: (\S+)", path.read_text(encoding="utf-8")[:2000], re.M)
        if found:
            out[found.group(1)] = path
    return out


def _first_turns() -> list[dict[str, Any]]:
    turns = []
    for suite in SUITES:
        for line in suite.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            turn = case["turns"][0] if "turns" in case else case
            turns.append({"id": case["id"], "audience": case.get("audience", "clinician"), **turn})
    return turns


def pick(n_docs: int, n_queries: int) -> tuple[list[Path], list[Path], list[dict[str, Any]]]:
    """The n most-cited documents, one more to ingest later, and the questions they (or nothing) answer."""
    urls = _urls()
    turns = _first_turns()
    cited = collections.Counter(u for t in turns for u in t.get("gold_urls", []) if u in urls)
    ranked = [u for u, _ in sorted(cited.items(), key=lambda kv: (-kv[1], kv[0]))]
    chosen = set(ranked[:n_docs])
    answerable = [t for t in turns if set(t.get("gold_urls", [])) & chosen][:n_queries]
    abstain = [t for t in turns if t.get("expect") == "abstain"]
    return [urls[u] for u in ranked[:n_docs]], [urls[ranked[n_docs]]], answerable + abstain


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _p50_95(values: list[float]) -> str:
    return f"{_pct(values, 0.5):,.0f} / {_pct(values, 0.95):,.0f}" if values else "–"


class CachedEmbedder:
    """The real embedder, with passage vectors computed once for both modes."""

    def __init__(self, embedder: Any, vectors: dict[str, list[float]]) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self.count_tokens = embedder.count_tokens
        self.embed_query = embedder.embed_query
        self.embed_sentences = embedder.embed_sentences

    def warm(self, folders: list[Path]) -> tuple[int, float]:
        """Chunk and embed every document once; (chunks, seconds spent embedding)."""
        from guidechat.index.records import embedding_text
        from guidechat.ingest.chunk import chunk_document
        from guidechat.ingest.loaders import load_document

        s = Settings()
        texts = []
        for folder in folders:
            for path in sorted(folder.iterdir()):
                texts += [embedding_text(c) for c in chunk_document(
                    load_document(path), count_tokens=self.count_tokens, max_tokens=s.chunk_max_tokens,
                    overlap_sentences=s.chunk_overlap_sentences, skipped_sections=s.skipped_sections)]
        started = time.perf_counter()
        self._vectors.update(zip(texts, self._embedder.embed_passages(texts), strict=True))
        return len(texts), time.perf_counter() - started

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._embedder.embed_passages(missing), strict=True))
        return [self._vectors[t] for t in texts]


def _copy(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, folder / f.name)
    return folder


class Mode:
    """One index (embedded or on the server) and what was measured on it."""

    def __init__(self, name: str, settings: Settings, embedder: Any) -> None:
        self.name = name
        self.settings = settings
        self.embedder = embedder
        self.figures: dict[str, Any] = {}
        self.total_ms: list[float] = []
        self.retrieve_ms: list[float] = []
        self.dense_ms: list[float] = []
        self.pipeline: Any = None

    def home(self) -> Any:
        from guidechat.index.indexer import IndexHome

        home = IndexHome(self.settings)
        home._embedder = self.embedder  # one model load for the whole run
        return home

    def ingest(self, docs: Path) -> None:
        from guidechat.index.indexer import ingest

        first = ingest(self.home(), [docs], progress=False)
        self.figures["ingest_s"] = first.seconds
        self.figures["chunks"] = first.chunks_total
        self.figures["documents"] = first.new
        self.figures["noop_s"] = ingest(self.home(), [docs], progress=False).seconds

    def start(self) -> None:
        from guidechat.chat.pipeline import ChatPipeline

        started = time.perf_counter()
        self.pipeline = ChatPipeline(self.home())
        self.figures["start_s"] = time.perf_counter() - started
        if self.settings.chroma_url:  # again, now that the local BM25 cache is there
            started = time.perf_counter()
            ChatPipeline(self.home()).close()
            self.figures["start_cached_s"] = time.perf_counter() - started

    def ask_all(self, questions: list[dict[str, Any]]) -> None:
        from guidechat.types import Session

        for q in questions:
            answer = self.pipeline.ask(q["question"], Session(), q["audience"])
            self.total_ms.append(answer.timings_ms["total"])
            self.retrieve_ms.append(answer.timings_ms["retrieve"])
            self.dense_ms.append(answer.timings_ms.get("retrieve_dense", 0.0))


def _server_extras(server: Mode, extra_docs: Path, docs: Path) -> None:
    """The generation check, and a replica catching up with another process's one-document ingest."""
    from guidechat.index.indexer import ingest

    pipeline = server.pipeline
    shared = pipeline.home._shared.manifest
    checks = []
    for _ in range(200):
        started = time.perf_counter()
        shared.generation()
        checks.append((time.perf_counter() - started) * 1000)
    server.figures["check_ms"] = checks
    for f in extra_docs.iterdir():
        shutil.copy2(f, docs / f.name)
    writer = Mode("writer", server.settings.model_copy(update={"home": server.settings.home.with_name("writer")}),
                  server.embedder).home()  # another process, as far as the index can tell
    added = ingest(writer, [docs], progress=False)
    started = time.perf_counter()
    assert pipeline.follower is not None and pipeline.follower.poll()
    server.figures["catch_up_s"] = time.perf_counter() - started
    server.figures["catch_up_chunks"] = added.chunks_added


def full_corpus_bm25(embedder: Any) -> tuple[int, float]:
    """Chunk every summary (tokenizer only) and time one BM25 build over all the chunks."""
    from guidechat.index.bm25 import Bm25Index
    from guidechat.ingest.chunk import chunk_document
    from guidechat.ingest.loaders import load_document

    s = Settings()
    chunks = []
    for path in sorted(CORPUS.glob("*/*.md")):
        chunks += chunk_document(load_document(path), count_tokens=embedder.count_tokens,
                                 max_tokens=s.chunk_max_tokens, overlap_sentences=s.chunk_overlap_sentences,
                                 skipped_sections=s.skipped_sections)
    started = time.perf_counter()
    Bm25Index.build(chunks)
    return len(chunks), time.perf_counter() - started


def _git_commit() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return run.stdout.strip() or "unknown"


def report(embedded: Mode, server: Mode, n_questions: int, command: str, loads: list[str],
           full: tuple[int, float] | None, embedded_chunks: int, embed_s: float) -> str:
    e, s = embedded.figures, server.figures
    embed_main_s = embed_s * e["chunks"] / embedded_chunks  # the share of the embedding time these chunks took

    def ratio(a: float, b: float) -> str:
        return f"{b / a:.2f}×" if a else "–"

    import chromadb

    lines = [
        "## Chroma server vs embedded (#5)",
        "",
        f"`{command}` — {datetime.date.today().isoformat()}, commit {_git_commit()}, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, chromadb "
        f"{chromadb.__version__} (server: `chroma run` from the same package, on the same machine, over "
        f"127.0.0.1). Load average at start / end: {loads[0]} / {loads[1]} (other engineers' jobs share the "
        "2 cores, so single figures are noisy; the ratios compare runs interleaved in time).",
        "",
        f"Index: the {e['documents']} PDQ summaries the dev eval suites cite most ({e['chunks']:,} chunks). "
        f"Questions: {n_questions} first turns of the dev suites (answerable from those summaries, plus the "
        "ones the corpus does not answer), each in a fresh session, alternating between the modes question by "
        "question after a warm-up; in-process `ChatPipeline.ask`, extractive; milliseconds from `timings_ms`. "
        f"Embedding the {embedded_chunks:,} chunks (both modes' ingests plus the one-summary catch-up) is the "
        f"same work in both modes and was timed once: {embed_s:.1f} s ({embedded_chunks / embed_s:.1f} "
        "chunks/s); the ingest rows add it to what each mode spends chunking, storing and on the manifest.",
        "",
        "| what | embedded | Chroma server | server / embedded |",
        "| --- | --- | --- | --- |",
        f"| ingest wall time, empty index: embedding + chunk, store, manifest | {embed_main_s + e['ingest_s']:.1f} s "
        f"| {embed_main_s + s['ingest_s']:.1f} s | "
        f"{ratio(embed_main_s + e['ingest_s'], embed_main_s + s['ingest_s'])} |",
        f"| of which chunk, store, manifest (what differs) | {e['ingest_s']:.1f} s | {s['ingest_s']:.1f} s | "
        f"{ratio(e['ingest_s'], s['ingest_s'])} |",
        f"| no-op re-ingest | {e['noop_s']:.2f} s | {s['noop_s']:.2f} s | {ratio(e['noop_s'], s['noop_s'])} |",
        f"| pipeline start, model loaded (embedded: BM25 from disk; server: manifest + chunks fetched, BM25 built) "
        f"| {e['start_s']:.2f} s | {s['start_s']:.2f} s | {ratio(e['start_s'], s['start_s'])} |",
        f"| pipeline start again, server with its local BM25 cache | – | {s['start_cached_s']:.2f} s | "
        f"{ratio(e['start_s'], s['start_cached_s'])} |",
        f"| `ask` end to end, p50 / p95 ms | {_p50_95(embedded.total_ms)} | {_p50_95(server.total_ms)} | "
        f"{ratio(_pct(embedded.total_ms, .5), _pct(server.total_ms, .5))} at p50 |",
        f"| retrieval (embed query, 2 dense queries, BM25, fusion), p50 / p95 ms | {_p50_95(embedded.retrieve_ms)} | "
        f"{_p50_95(server.retrieve_ms)} | {ratio(_pct(embedded.retrieve_ms, .5), _pct(server.retrieve_ms, .5))} "
        "at p50 |",
        f"| the 2 dense Chroma queries, p50 / p95 ms | {_p50_95(embedded.dense_ms)} | {_p50_95(server.dense_ms)} | "
        f"{ratio(_pct(embedded.dense_ms, .5), _pct(server.dense_ms, .5))} at p50 |",
        f"| a replica's generation check (one record read), p50 / p95 ms (n = 200) | – | "
        f"{_pct(s['check_ms'], .5):.1f} / {_pct(s['check_ms'], .95):.1f} | |",
        f"| a replica catching up after another process ingested one more summary ({s['catch_up_chunks']} chunks): "
        f"fetch the new chunks, rebuild BM25, swap | – | {s['catch_up_s']:.2f} s | |",
    ]
    if full:
        lines.append(f"| BM25 build over the full corpus's {full[0]:,} chunks (a replica's rebuild at full scale) "
                     f"| {full[1]:.1f} s | {full[1]:.1f} s | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--skip-full-bm25", action="store_true", help="skip the full-corpus BM25 build")
    parser.add_argument("--append", type=Path, help="append the markdown section to this file")
    args = parser.parse_args()
    configure_offline_environment()
    command = "python benchmarks/chroma_server.py" + "".join(f" {a}" for a in sys.argv[1:])
    loads = [" ".join(f"{x:.1f}" for x in os.getloadavg())]

    from guidechat.index.embed import Embedder
    from tests.chroma_helpers import chroma_server

    docs, extra, questions = pick(args.docs, args.queries)
    s = Settings()
    vectors: dict[str, list[float]] = {}
    # a model each: the query-vector cache must not carry answers from one mode to the other
    embedder, server_embedder = (
        CachedEmbedder(Embedder(s.resolved_embed_model(), s.embed_batch_size, s.embed_threads), vectors)
        for _ in range(2)
    )
    with tempfile.TemporaryDirectory(prefix="guidechat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        folder = _copy(docs, tmp / "docs")
        extra_folder = _copy(extra, tmp / "extra")
        embedded_chunks, embed_s = embedder.warm([folder, extra_folder])
        print(f"embedded {embedded_chunks} chunks in {embed_s:.1f} s", file=sys.stderr)
        with chroma_server(tmp / "chroma") as url:
            embedded = Mode("embedded", Settings(home=tmp / "embedded"), embedder)
            server = Mode("server", Settings(home=tmp / "server", chroma_url=url, index_refresh_seconds=3600),
                          server_embedder)
            for mode in (embedded, server):
                mode.ingest(folder)
                print(f"{mode.name}: ingest {mode.figures['ingest_s']:.1f} s", file=sys.stderr)
                mode.start()
                mode.ask_all(questions[:3])  # warm-up
                mode.total_ms.clear()
                mode.retrieve_ms.clear()
                mode.dense_ms.clear()
            for question in questions:
                for mode in (embedded, server):
                    mode.ask_all([question])
            _server_extras(server, extra_folder, folder)
            server.pipeline.close()
    full = None if args.skip_full_bm25 else full_corpus_bm25(embedder)
    loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    text = report(embedded, server, len(questions), command, loads, full, embedded_chunks, embed_s)
    print(text)
    if args.append:
        with open(args.append, "a", encoding="utf-8") as out:
            out.write("\n" + text)
    raw = {"embedded": embedded.figures, "server": {k: v for k, v in server.figures.items() if k != "check_ms"}}
    print(f"raw: {json.dumps(raw)}", file=sys.stderr)


if __name__ == "__main__":
    main()
