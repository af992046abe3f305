"""First turns of an eval suite through the chat pipeline: gold document cited, abstention, latency.

    GUIDECHAT_HOME=.guidechat .venv/bin/python benchmarks/dev_first_turns.py ../shared/eval/clinician-dev.jsonl

A stand-in until `guidechat eval` (#3) exists; it asks exactly what the chat asks, in-process, after a
warm-up question, one fresh session per case.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from guidechat.config import Settings, configure_offline_environment


def main(suite: Path, verbose: bool) -> None:
    configure_offline_environment()
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.types import Session

    pipeline = ChatPipeline.from_settings(Settings())
    pipeline.ask("What is the utility of MRI in stage IV breast cancer?", Session())  # warm-up
    answerable = hits = retrieved_hits = over_refused = 0
    abstain_cases = abstain_right = 0
    latencies: list[float] = []
    for line in suite.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        turn = case["turns"][0] if "turns" in case else case
        audience = case.get("audience", "clinician")
        started = time.perf_counter()
        answer = pipeline.ask(turn["question"], Session(), audience)
        latencies.append((time.perf_counter() - started) * 1000)
        gold = set(turn.get("gold_urls", []))
        cited = {c.url for c in answer.citations}
        if turn.get("expect", "answer") == "abstain":
            abstain_cases += 1
            abstain_right += answer.abstained
            mark = "ok " if answer.abstained else "MISS"
        else:
            answerable += 1
            hit = bool(gold & cited)
            hits += hit
            retrieved_hits += bool(gold & {p.chunk.doc.url for p in answer.passages[:5]})
            over_refused += answer.abstained
            mark = "ok " if hit else ("ABST" if answer.abstained else "MISS")
        if verbose:
            print(f"{mark} {case['id']}: {turn['question'][:70]!r} -> {sorted(cited)[:2]}")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"suite: {suite.name}, {answerable + abstain_cases} first turns")
    print(f"gold document among cited sources: {hits}/{answerable} = {hits / max(answerable, 1):.2f}")
    print(
        f"gold document in top-5 passages:   {retrieved_hits}/{answerable} = {retrieved_hits / max(answerable, 1):.2f}"
    )
    print(f"over-refusals on answerable:       {over_refused}/{answerable}")
    if abstain_cases:
        print(
            f"abstention accuracy on abstain:    {abstain_right}/{abstain_cases} = {abstain_right / abstain_cases:.2f}"
        )
    print(f"ask latency ms: p50 {statistics.median(latencies):.0f}, p95 {p95:.0f} (n={len(latencies)})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), "-q" not in sys.argv)
