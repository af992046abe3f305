"""Query latency (#5): every turn of the dev suites through ChatPipeline.ask on the full index, per stage, beside
llama-index defaults (its persisted index of the same files, top 2) asked the same first turns in the same run.

    .venv/bin/python benchmarks/bench_query.py [--home .guidechat] [--limit N]

Extractive answers, in-process, after one warm-up question per system. Multi-turn cases are asked turn by turn in
one session (so condense has follow-ups to rewrite); every question is asked once, so the query-vector cache never
hits, while the sentence-vector cache fills as a server's would. Stages come from Answer.timings_ms: condense,
retrieve_embed, retrieve_dense, retrieve_bm25, retrieve_fuse, compose (abstention checks, composing, preferring
newer documents), trust (annotations and suggested follow-ups) and total.
Questions alternate between the two systems one by one, so load from other processes falls on both alike.
The index is only read; llama-index defaults are loaded from --baseline-dir (default
<home>/baselines/llamaindex-defaults, as `guidechat eval --preset llamaindex-defaults` does), built there when missing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench_common import Results, cases, default_home, log, summary

STAGES = ("condense", "retrieve_embed", "retrieve_dense", "retrieve_bm25", "retrieve_fuse", "retrieve", "compose",
          "trust", "total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=default_home())
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-dir", type=Path, help="where llama-index defaults' index is (or is built)")
    parser.add_argument("--fp32", action="store_true",
                        help="sentence_vectors=fp32 (not the default), no baseline; figures in query-fp32.json")
    args = parser.parse_args()

    from guidechat.baseline.llamaindex_defaults import PRESET, LlamaIndexDefaults
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings, configure_offline_environment
    from guidechat.index.indexer import IndexHome
    from guidechat.types import Session

    configure_offline_environment()
    results = Results("query-fp32" if args.fp32 else "query")
    settings = Settings(home=args.home)
    home = IndexHome(settings.model_copy(update={"sentence_vectors": "fp32"}) if args.fp32 else settings)
    manifest = home.manifest()
    results["index"] = {"documents": len(manifest.documents), "chunks": len(manifest.chunk_ids())}
    started = time.perf_counter()
    pipeline = ChatPipeline(home)
    results["guidechat_load_s"] = time.perf_counter() - started
    baseline = None
    if not (args.skip_baseline or args.fp32):
        started = time.perf_counter()
        folder = args.baseline_dir or home.root / "baselines" / PRESET
        baseline = LlamaIndexDefaults.build_or_load(manifest, folder, home.settings.resolved_embed_model())
        if baseline.build_s is not None:
            results["baseline_build_s"] = baseline.build_s
        results["baseline_load_s"] = time.perf_counter() - started
        results["baseline_nodes"] = len(baseline._retriever._index.docstore.docs)

    selected = cases()[: args.limit] if args.limit else cases()
    pipeline.ask("What is the utility of MRI in stage IV breast cancer?", Session())  # warm-up, then uncached
    if baseline is not None:
        baseline.ask("What is the utility of MRI in stage IV breast cancer?", Session())
    ours: dict[str, list[float]] = {k: [] for k in STAGES}
    first: dict[str, list[float]] = {"retrieve": [], "total": []}  # first turns, as the baseline is asked
    theirs: dict[str, list[float]] = {"retrieve": [], "total": []}
    abstained = 0
    log(f"{len(selected)} cases, {sum(len(c.turns) for c in selected)} turns")
    for number, case in enumerate(selected, start=1):
        session = Session()
        for index, turn in enumerate(case.turns):
            answer = pipeline.ask(turn.question, session, case.audience)
            abstained += answer.abstained
            for stage in STAGES:
                ours[stage].append(answer.timings_ms.get(stage, 0.0))
            if index == 0:
                for stage in first:
                    first[stage].append(answer.timings_ms[stage])
        if baseline is not None:  # first turns: it has no notion of a follow-up
            timings = baseline.ask(case.turns[0].question, Session(), case.audience).timings_ms
            theirs["retrieve"].append(timings["retrieve"])
            theirs["total"].append(timings["total"])
        if number % 50 == 0:
            log(f"{number} cases; total p50 so far {summary(ours['total'])['p50']:.0f} ms")
    cache = pipeline.home.embedder._sentences
    results["sentence_cache"] = {"hits": cache.hits, "misses": cache.misses}
    results["turns"] = len(ours["total"])
    results["abstained"] = abstained
    results["guidechat_ms"] = {stage: summary(values) for stage, values in ours.items()}
    results["guidechat_first_turns_ms"] = {stage: summary(values) for stage, values in first.items()}
    if baseline is not None:
        results["baseline_ms"] = {stage: summary(values) for stage, values in theirs.items()}
    print(results.save())


if __name__ == "__main__":
    main()
