"""report.json -> report.html: one self-contained page (inline CSS and SVG, no scripts, fonts or external
resources) with the figures, three plots (doc hit@k curve, latency histogram, per-qtype bars) and one row per
asked turn. Every string from the report is escaped: questions come from suites, not from us."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from guidechat.eval.metrics import best_doc_rank, percentile
from guidechat.eval.report import ROWS, STAGES
from guidechat.eval.svg import grouped_bars, histogram, line_chart

KS = tuple(range(1, 11))

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2937; background: #f8fafc; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 10px; }
.meta { color: #4b5563; margin: 0 0 4px; } code { font-size: 13px; background: #eef2f7; padding: 1px 4px; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(540px, 1fr)); gap: 16px; }
.plot { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px; }
.plot.wide { grid-column: 1 / -1; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; }
svg .chart-title { font-size: 15px; font-weight: 600; fill: #111827; }
svg .grid { stroke: #e5e7eb; } svg .axis { stroke: #6b7280; }
svg .tick, svg .value { fill: #4b5563; } svg .value { font-size: 10px; }
svg .axis-label { fill: #374151; font-weight: 500; }
svg .legend rect.frame { fill: #fff; fill-opacity: 0.9; stroke: #d1d5db; } svg .legend text { fill: #1f2937; }
svg .marker { stroke-dasharray: 5 4; stroke-width: 1.5; } svg .marker-label { fill: #b91c1c; font-weight: 600; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e5e7eb; padding: 4px 10px; text-align: right; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; } td.text, th.text { text-align: left; }
table.cases td.question { max-width: 640px; text-align: left; }
.bad { color: #b91c1c; font-weight: 600; } .none { color: #9ca3af; }
details { margin-top: 8px; } summary { cursor: pointer; color: #374151; }
"""


def render_html(report: Mapping[str, Any]) -> str:
    for required in ("overall", "cases"):
        if required not in report:
            raise ValueError(f"report has no '{required}' field: not a guidechat eval report.json")
    cases: list[Mapping[str, Any]] = report["cases"]
    title = f"guidechat eval · {report.get('preset') or 'report'}"
    body = [
        f"<h1>{escape(title)}</h1>",
        _meta(report),
        "<h2>Figures</h2>",
        _figures_table(report),
        "<h2>Plots</h2>",
        '<div class="plots">',
        f'<div class="plot">{_hit_curve_plot(cases)}</div>',
        f'<div class="plot">{_latency_plot(cases)}</div>',
        f'<div class="plot wide">{_qtype_plot(report.get("by_qtype") or {})}</div>',
        "</div>",
        f"<h2>Turns ({len(cases)})</h2>",
        _cases_table(cases),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head>\n<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )


def hit_rank(case: Mapping[str, Any]) -> int | None:
    """Rank of the first gold document among the retrieved ones (each document once). Reports written before
    cases carried gold_urls fall back to the case's reciprocal rank, which encodes the same rank."""
    if "gold_urls" in case:
        return best_doc_rank([r["url"] for r in case.get("retrieved", [])], case["gold_urls"])
    mrr = (case.get("scores") or {}).get("mrr")
    return round(1 / mrr) if mrr else None


def hit_curve(cases: Sequence[Mapping[str, Any]]) -> list[float]:
    """Doc hit@k for k in KS over the answerable turns."""
    ranks = [hit_rank(c) for c in cases if c.get("expect") == "answer"]
    if not ranks:
        return [0.0 for _ in KS]
    return [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in KS]


def turn_latency(case: Mapping[str, Any]) -> float | None:
    latency = case.get("latency_ms") or {}
    value = latency.get("total", latency.get("wall"))
    return float(value) if value is not None else None


def _meta(report: Mapping[str, Any]) -> str:
    suites = ", ".join(f"<code>{escape(str(s))}</code>" for s in report.get("suites", []))
    lines = [
        f"settings hash <code>{escape(str(report.get('settings_hash')))}</code> · index "
        f"<code>{escape(str(report.get('index_digest')))}</code> · commit "
        f"<code>{escape(str(report.get('git_commit')))}</code> · wall time {escape(str(report.get('wall_s')))} s",
        f"suites: {suites or '–'}",
    ]
    settings = report.get("settings") or {}
    rows = "".join(
        f'<tr><td class="text">{escape(str(k))}</td><td class="text">{escape(str(v))}</td></tr>'
        for k, v in settings.items()
    )
    details = f"<details><summary>settings ({len(settings)})</summary><table>{rows}</table></details>"
    return "".join(f'<p class="meta">{line}</p>' for line in lines) + details


def _figures_table(report: Mapping[str, Any]) -> str:
    columns: dict[str, Mapping[str, Any]] = {
        "overall": report["overall"],
        **(report.get("by_suite") or {}),
        **(report.get("by_turn") or {}),
    }
    head = '<tr><th class="text">metric</th>' + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>"
    rows = [(name, [_fmt(c.get(name)) for c in columns.values()]) for name in ROWS]
    for part in ("precision", "recall", "over_refusal"):
        rows.append((f"abstention {part}", [_fmt((c.get("abstention") or {}).get(part)) for c in columns.values()]))
    for stage in STAGES:
        cells = [_latency((c.get("latency_ms") or {}).get(stage)) for c in columns.values()]
        rows.append((f"latency {stage} p50 / p95 ms", cells))
    rows.append(("turns (answerable)", [f"{c.get('turns')} ({c.get('answerable')})" for c in columns.values()]))
    body = "".join(
        f'<tr><td class="text">{escape(name)}</td>' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        for name, cells in rows
    )
    return f'<table class="figures">{head}{body}</table>'


def _hit_curve_plot(cases: Sequence[Mapping[str, Any]]) -> str:
    series = {"overall": hit_curve(cases)}
    for suite in sorted({str(c.get("suite")) for c in cases}):
        series[suite] = hit_curve([c for c in cases if str(c.get("suite")) == suite])
    return line_chart("plot-hit-at-k", "Doc hit@k (answerable turns)", KS, series, "k (documents)", "doc hit@k")


def _latency_plot(cases: Sequence[Mapping[str, Any]]) -> str:
    times = [t for c in cases if (t := turn_latency(c)) is not None]
    if not times:
        return '<p class="none">no latencies in this report</p>'
    markers = {"p50": round(percentile(times, 50), 1), "p95": round(percentile(times, 95), 1)}  # as report.json
    title = f"Latency per turn ({len(times)} turns)"
    return histogram("plot-latency", title, times, markers, "total latency per turn (ms)", "turns")


def _qtype_plot(by_qtype: Mapping[str, Mapping[str, Any]]) -> str:
    if not by_qtype:
        return '<p class="none">no qtype in these suites</p>'
    groups = list(by_qtype)
    metrics = (("doc hit@5", "doc_hit@5"), ("MRR", "mrr"))
    series = {name: [by_qtype[g].get(key) for g in groups] for name, key in metrics}
    labels = [f"{g} ({by_qtype[g].get('answerable', 0)})" for g in groups]
    return grouped_bars("plot-qtype", "Doc hit@5 and MRR per qtype (answerable turns)", labels, series, "score")


def _cases_table(cases: Sequence[Mapping[str, Any]]) -> str:
    head = (
        '<tr><th class="text">id</th><th class="text">suite</th><th>turn</th><th class="text">question</th>'
        '<th class="text">expect</th><th>hit rank</th><th class="text">abstained</th><th>latency ms</th></tr>'
    )
    rows = []
    for c in cases:
        expect = str(c.get("expect"))
        rank = hit_rank(c)
        if expect != "answer":
            rank_cell = '<span class="none">–</span>'
        else:
            rank_cell = str(rank) if rank is not None else '<span class="bad">miss</span>'
        abstained = bool(c.get("abstained"))
        said = "yes" if abstained else "no"
        abstained_cell = f'<span class="bad">{said}</span>' if abstained != (expect == "abstain") else said
        latency = turn_latency(c)
        rows.append(
            f'<tr><td class="text">{escape(str(c.get("id")))}</td><td class="text">{escape(str(c.get("suite")))}</td>'
            f'<td>{escape(str(c.get("turn")))}</td><td class="question">{escape(str(c.get("question")))}</td>'
            f'<td class="text">{escape(expect)}</td><td>{rank_cell}</td><td class="text">{abstained_cell}</td>'
            f"<td>{'–' if latency is None else f'{latency:,.0f}'}</td></tr>"
        )
    return f'<table class="cases">{head}{"".join(rows)}</table>'


def _fmt(value: Any) -> str:
    return '<span class="none">–</span>' if value is None else f"{value:.3f}"


def _latency(value: Mapping[str, float] | None) -> str:
    return '<span class="none">–</span>' if not value else f"{value['p50']:,.0f} / {value['p95']:,.0f}"
