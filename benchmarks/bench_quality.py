"""Quality guard for the speed settings (#5): `guidechat eval` with the settings as they were before the speed
work and as they are now, on the same index, figures side by side.

    .venv/bin/python benchmarks/bench_quality.py [--home .guidechat] [--suite ../shared/eval/clinician-dev.jsonl]

"before" is the settings before the speed work: a shortlist of 24 (every answer embedded its 24 lexically best
sentences) ranked by the float model; "fp32" is today's shortlist of 16 ranked by the float model
(sentence_vectors=fp32, the default until ONNX Runtime's int8 graph replaced it; bench_query.py --fp32 measures its
speed); "after" is the current defaults (16 sentences, int8). Reports go to out/bench/eval-before, eval-fp32 and
eval-after.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench_common import BIN, OUT, ROOT, SUITES, Results, default_home, log, offline_env

RUNS = {
    "before (shortlist 24, fp32)": ["--set", "compose_shortlist=24", "--set", "sentence_vectors=fp32"],
    "fp32 (shortlist 16, sentence_vectors=fp32)": ["--set", "sentence_vectors=fp32"],
    "after (defaults: shortlist 16, int8)": [],
}
FIGURES = ("gold_cited", "facts_in_answer", "sentences_supported", "doc_hit@5", "abstention precision",
           "abstention recall", "over_refusal", "compose p50 ms", "total p50 ms", "total p95 ms")


def figures(report: dict[str, object]) -> dict[str, object]:
    overall = report["overall"]
    assert isinstance(overall, dict)
    abstention, latency = overall["abstention"], overall["latency_ms"]
    return {
        "gold_cited": overall.get("gold_cited"),
        "facts_in_answer": overall.get("facts_in_answer"),
        "sentences_supported": overall.get("sentences_supported"),
        "doc_hit@5": overall.get("doc_hit@5"),
        "abstention precision": abstention.get("precision"),
        "abstention recall": abstention.get("recall"),
        "over_refusal": abstention.get("over_refusal"),
        "compose p50 ms": latency["compose"]["p50"],
        "total p50 ms": latency["total"]["p50"],
        "total p95 ms": latency["total"]["p95"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=default_home())
    parser.add_argument("--suite", type=Path, action="append", help=f"default: {SUITES[0].name}")
    args = parser.parse_args()
    suites = args.suite or [SUITES[0]]
    results = Results("quality")
    results["suites"] = [str(s.relative_to(ROOT.parent)) if s.is_relative_to(ROOT.parent) else str(s)
                         for s in suites]
    rows = []
    for label, extra in RUNS.items():
        out = OUT / ("eval-" + label.split()[0])
        command = [str(BIN / "guidechat"), "--home", str(args.home), "eval", *map(str, suites), "--out", str(out),
                   *extra]
        log(" ".join(command))
        subprocess.run(command, env=offline_env(), cwd=ROOT, check=True)
        rows.append(figures(json.loads((out / "report.json").read_text())))
    results["labels"] = list(RUNS)
    results["figures"] = list(FIGURES)
    results["rows"] = rows
    print(results.save())


if __name__ == "__main__":
    main()
