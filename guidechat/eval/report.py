"""Aggregate per-turn results into figures (overall, per suite, qtype, audience, first vs follow-up turns)
and write report.json, report.md and report.html."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guidechat.eval.metrics import abstention_scores, percentile
from guidechat.eval.runner import TurnResult

STAGES = ("condense", "retrieve", "compose", "generate", "total")


def summarise(results: Sequence[TurnResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.expect == "answer"]
    names = sorted({name for r in results for name in r.scores})
    figures: dict[str, Any] = {"turns": len(results), "answerable": len(answerable)}
    for name in names:  # answer metrics over answerable turns, grounding over every turn
        values = [v for r in (answerable if _answer_metric(name) else results) if (v := r.scores.get(name)) is not None]
        figures[name] = round(statistics.fmean(values), 4) if values else None
    figures["abstention"] = abstention_scores([r.expect == "abstain" for r in results], [r.abstained for r in results])
    latency: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        times = [r.latency_ms[stage] for r in results if stage in r.latency_ms]
        if times:
            latency[stage] = {"p50": round(percentile(times, 50), 1), "p95": round(percentile(times, 95), 1)}
    figures["latency_ms"] = latency
    figures.update(_generation_figures(results))
    return figures


def _generation_figures(results: Sequence[TurnResult]) -> dict[str, Any]:
    """Generated answers (#4): how many answered turns the model wrote, and the share of its sentences that
    verification removed (None throughout for extractive runs)."""
    answered = [r for r in results if not r.abstained]
    if not any(r.composer != "extractive" for r in results):
        return {"generative_share": None, "removed_share": None}
    generated = sum(r.generated_sentences for r in results)
    removed = sum(r.removed_sentences for r in results)
    return {
        "generative_share": round(sum(r.composer == "generative" for r in answered) / len(answered), 4)
        if answered
        else None,
        "generated_sentences": generated,
        "removed_sentences": removed,
        "removed_share": round(removed / generated, 4) if generated else None,
    }


def _answer_metric(name: str) -> bool:
    return name not in ("citations_resolve", "sentences_supported", "disclaimer")


def breakdown(results: Sequence[TurnResult], key: Callable[[TurnResult], str | None]) -> dict[str, Any]:
    groups: dict[str, list[TurnResult]] = {}
    for r in results:
        label = key(r)
        if label is not None:
            groups.setdefault(label, []).append(r)
    return {label: summarise(group) for label, group in sorted(groups.items())}


def build_report(results: Sequence[TurnResult], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "git_commit": _git_commit(),
        "overall": summarise(results),
        "by_suite": breakdown(results, lambda r: r.suite),
        "by_qtype": breakdown(results, lambda r: r.qtype),
        "by_audience": breakdown(results, lambda r: r.audience),
        "by_turn": breakdown(results, lambda r: "first" if r.turn == 1 else "follow-up"),
        "cases": [r.to_json() for r in results],
    }


def write_reports(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    from guidechat.eval.html import render_html  # html.py builds on this module's rows

    (out / "report.html").write_text(render_html(report), encoding="utf-8")


ROWS = (
    "doc_hit@1",
    "doc_hit@5",
    "doc_hit@10",
    "mrr",
    "section_hit@5",
    "facts_in_top5",
    "gold_cited",
    "facts_in_answer",
    "answer_rouge_l",
    "answer_cosine",
    "citations_resolve",
    "sentences_supported",
    "disclaimer",
    "generative_share",
    "removed_share",
)


def markdown(report: dict[str, Any]) -> str:
    columns = {"overall": report["overall"], **report["by_suite"], **report["by_turn"]}
    lines = [
        "# guidechat eval",
        "",
        f"settings hash `{report.get('settings_hash')}`, index `{report.get('index_digest')}`, "
        f"commit `{report.get('git_commit')}`",
        "",
        "| metric | " + " | ".join(columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for row in ROWS:
        lines.append(f"| {row} | " + " | ".join(_fmt(c.get(row)) for c in columns.values()) + " |")
    for part in ("precision", "recall", "over_refusal"):
        lines.append(
            f"| abstention {part} | " + " | ".join(_fmt(c["abstention"].get(part)) for c in columns.values()) + " |"
        )
    for stage in STAGES:
        lines.append(
            f"| latency {stage} p50 / p95 ms | "
            + " | ".join(_latency(c["latency_ms"].get(stage)) for c in columns.values())
            + " |"
        )
    lines.append(
        "| turns (answerable) | " + " | ".join(f"{c['turns']} ({c['answerable']})" for c in columns.values()) + " |"
    )
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _latency(value: dict[str, float] | None) -> str:
    return "–" if not value else f"{value['p50']:.0f} / {value['p95']:.0f}"


def _git_commit() -> str | None:
    try:
        run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() or None


def compare(reports: Sequence[dict[str, Any]], labels: Sequence[str]) -> str:
    """Figures of several reports side by side (overall and per suite), with deltas against the first."""
    scopes = ["overall", *sorted({suite for r in reports for suite in r.get("by_suite", {})})]
    lines = ["| scope | metric | " + " | ".join(labels) + " |", "| --- | --- |" + " --- |" * len(labels)]
    for scope in scopes:
        figures = [r["overall"] if scope == "overall" else r.get("by_suite", {}).get(scope, {}) for r in reports]
        rows: list[tuple[str, list[float | None]]] = [(name, [f.get(name) for f in figures]) for name in ROWS]
        for part in ("precision", "recall", "over_refusal"):
            rows.append((f"abstention {part}", [f.get("abstention", {}).get(part) for f in figures]))
        for q in ("p50", "p95"):
            rows.append((f"latency total {q} ms", [f.get("latency_ms", {}).get("total", {}).get(q) for f in figures]))
        for name, values in rows:
            if all(v is None for v in values):
                continue
            cells = [_fmt(values[0])] + [_delta(v, values[0]) for v in values[1:]]
            lines.append(f"| {scope} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _delta(value: float | None, reference: float | None) -> str:
    if value is None:
        return "–"
    if reference is None:
        return _fmt(value)
    return f"{value:.3f} ({value - reference:+.3f})"
