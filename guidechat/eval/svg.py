"""Inline SVG charts for the eval report: a line chart, a histogram and grouped bars, each with a title, axis
labels, ticks and a legend. Every data mark has class "mark" and a <title> tooltip; all text is escaped."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f2937", "#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#be185d")
LEFT, TOP, RIGHT = 60, 40, 20


def num(value: float) -> str:
    """Coordinates with one decimal at most, so the markup stays short and testable."""
    return f"{round(value, 1):g}"


@dataclass(frozen=True)
class Frame:
    """The plot area of an SVG (margins LEFT, TOP, RIGHT and `bottom`), and fractions (0..1) mapped onto it."""

    plot_w: float
    plot_h: float
    bottom: float

    @property
    def width(self) -> float:
        return LEFT + self.plot_w + RIGHT

    @property
    def height(self) -> float:
        return TOP + self.plot_h + self.bottom

    def x(self, fraction: float) -> float:
        return LEFT + fraction * self.plot_w

    def y(self, fraction: float) -> float:
        return TOP + (1.0 - fraction) * self.plot_h

    def open(self, chart_id: str, title: str) -> list[str]:
        return [
            f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {num(self.width)} {num(self.height)}" '
            f'style="max-width: {num(self.width)}px" role="img" aria-label="{escape(title)}">',
            f'<text class="chart-title" x="{LEFT}" y="22">{escape(title)}</text>',
        ]

    def axes(self, x_label: str, y_label: str, y_ticks: Sequence[tuple[float, str]]) -> list[str]:
        parts = []
        for fraction, label in y_ticks:
            y = num(self.y(fraction))
            parts.append(f'<line class="grid" x1="{LEFT}" x2="{num(self.x(1))}" y1="{y}" y2="{y}"/>')
            parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y}" text-anchor="end" dy="0.32em">{label}</text>')
        base = num(self.y(0))
        parts.append(f'<line class="axis" x1="{LEFT}" x2="{num(self.x(1))}" y1="{base}" y2="{base}"/>')
        parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}"/>')
        if x_label:
            parts.append(
                f'<text class="axis-label" x="{num(self.x(0.5))}" y="{num(self.height - 10)}" '
                f'text-anchor="middle">{escape(x_label)}</text>'
            )
        middle = num(self.y(0.5))
        parts.append(
            f'<text class="axis-label" x="16" y="{middle}" text-anchor="middle" '
            f'transform="rotate(-90 16 {middle})">{escape(y_label)}</text>'
        )
        return parts

    def x_ticks(self, ticks: Sequence[tuple[float, str]]) -> list[str]:
        below = num(self.y(0) + 16)
        return [
            f'<text class="tick" x="{num(self.x(f))}" y="{below}" text-anchor="middle">{label}</text>'
            for f, label in ticks
        ]


def legend(names: Sequence[str], colors: Sequence[str], right: float, top: float) -> list[str]:
    """A boxed legend of lines whose top-right corner is at (right, top)."""
    width = 30 + 6.6 * max(len(n) for n in names)
    left = right - width
    parts = [
        f'<g class="legend"><rect class="frame" x="{num(left)}" y="{num(top)}" width="{num(width)}" '
        f'height="{num(8 + 17 * len(names))}" rx="3"/>'
    ]
    for i, (name, color) in enumerate(zip(names, colors, strict=True)):
        y = top + 13 + 17 * i
        parts.append(
            f'<line x1="{num(left + 7)}" x2="{num(left + 21)}" y1="{num(y)}" y2="{num(y)}" '
            f'stroke="{color}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{num(left + 26)}" y="{num(y)}" dy="0.32em">{escape(name)}</text>')
    return [*parts, "</g>"]


def legend_row(names: Sequence[str], colors: Sequence[str], right: float, y: float) -> list[str]:
    """Colour boxes and names in one row ending at `right`, on the title's line."""
    widths = [30 + 7 * len(n) for n in names]
    left = right - sum(widths)
    parts = ['<g class="legend">']
    for name, color, width in zip(names, colors, widths, strict=True):
        parts.append(f'<rect x="{num(left)}" y="{num(y - 9)}" width="11" height="11" fill="{color}"/>')
        parts.append(f'<text x="{num(left + 16)}" y="{num(y)}">{escape(name)}</text>')
        left += width
    return [*parts, "</g>"]


def line_chart(
    chart_id: str, title: str, xs: Sequence[int], series: Mapping[str, Sequence[float]], x_label: str, y_label: str
) -> str:
    """Lines over integer xs of rates (0..1). The y axis starts at the tenth below the lowest value, so curves
    that all sit near the top stay apart; the first series is drawn boldest and on top."""
    lowest = min(min(values) for values in series.values())
    floor = max(0.0, math.floor((lowest - 0.03) * 10) / 10)
    frame = Frame(plot_w=540, plot_h=240, bottom=56)
    step = nice_step(1.0 - floor, 5)
    digits = 1 if step >= 0.1 else 2
    y_ticks = [((v - floor) / (1 - floor), f"{v:.{digits}f}") for v in _range(floor, 1.0, step)]
    span = max(xs[-1] - xs[0], 1)
    parts = frame.open(chart_id, title) + frame.axes(x_label, y_label, y_ticks)
    parts += frame.x_ticks([((x - xs[0]) / span, str(x)) for x in xs])
    colors = _colors(len(series))
    for i, (name, values) in reversed(list(enumerate(series.items()))):
        rates = [(v - floor) / (1 - floor) for v in values]
        points = [(frame.x((x - xs[0]) / span), frame.y(r)) for x, r in zip(xs, rates, strict=True)]
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{colors[i]}" '
            f'stroke-width="{3 if i == 0 else 2}" points="{" ".join(f"{num(px)},{num(py)}" for px, py in points)}"/>'
        )
        for x, v, (px, py) in zip(xs, values, points, strict=True):
            parts.append(
                f'<circle class="mark" cx="{num(px)}" cy="{num(py)}" r="3.5" fill="{colors[i]}">'
                f"<title>{escape(name)}: k={x} → {v:.3f}</title></circle>"
            )
    parts += legend(list(series), colors, frame.x(1) - 8, frame.y(0) - 16 - 17 * len(series))
    return "\n".join([*parts, "</svg>"])


def histogram(
    chart_id: str, title: str, values: Sequence[float], markers: Mapping[str, float], x_label: str, y_label: str
) -> str:
    """Counts of values in equal bins from 0 (at most 24 of them), with a dashed vertical line per marker."""
    width = nice_step(max(values), 24) if max(values) > 0 else 1.0
    bins = max(1, math.ceil(max(values) / width - 1e-9))
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v // width))] += 1
    count_step = nice_step(max(counts), 5)
    top_count = count_step * math.ceil(max(counts) / count_step)
    frame = Frame(plot_w=540, plot_h=240, bottom=56)
    y_ticks = [(c / top_count, f"{c:g}") for c in _range(0, top_count, count_step)]
    parts = frame.open(chart_id, title) + frame.axes(x_label, y_label, y_ticks)
    limit = bins * width
    parts += frame.x_ticks([(edge / limit, f"{edge:,.0f}") for edge in _range(0, limit, nice_step(limit, 8))])
    bar_w = frame.plot_w / bins
    for i, count in enumerate(counts):
        y = frame.y(count / top_count)
        parts.append(
            f'<rect class="mark bar" x="{num(frame.x(i / bins) + 1)}" y="{num(y)}" width="{num(bar_w - 2)}" '
            f'height="{num(frame.y(0) - y)}" fill="{PALETTE[1]}"><title>{i * width:,.0f}–{(i + 1) * width:,.0f}: '
            f"{count}</title></rect>"
        )
    for j, (name, value) in enumerate(markers.items()):
        fraction = min(value / limit, 1.0)
        x = num(frame.x(fraction))
        anchor, dx = ("end", -5) if fraction > 0.7 else ("start", 5)
        parts.append(
            f'<line class="marker" x1="{x}" x2="{x}" y1="{TOP}" y2="{num(frame.y(0))}" stroke="{PALETTE[4]}"/>'
        )
        parts.append(
            f'<text class="marker-label" x="{x}" y="{TOP + 12 + 15 * j}" dx="{dx}" text-anchor="{anchor}">'
            f"{escape(name)} {value:,.0f} ms</text>"
        )
    return "\n".join([*parts, "</svg>"])


def grouped_bars(
    chart_id: str, title: str, groups: Sequence[str], series: Mapping[str, Sequence[float | None]], y_label: str
) -> str:
    """One cluster of bars (y in 0..1) per group, a value printed on each; a missing value leaves a gap."""
    frame = Frame(plot_w=max(1080, 64 * len(groups)), plot_h=260, bottom=80)
    group_w = frame.plot_w / len(groups)
    slot = min(38.0, (group_w - 20) / len(series))
    colors = _colors(len(series), first=1)
    parts = frame.open(chart_id, title) + frame.axes("", y_label, _fraction_ticks())
    for g, group in enumerate(groups):
        start = frame.x(g / len(groups)) + (group_w - slot * len(series)) / 2
        center, below = num(start + slot * len(series) / 2), num(frame.y(0) + 16)
        parts.append(
            f'<text class="tick" x="{center}" y="{below}" text-anchor="end" '
            f'transform="rotate(-25 {center} {below})">{escape(group)}</text>'
        )
        for s, (name, values) in enumerate(series.items()):
            value = values[g]
            if value is None:
                continue
            x, y = start + s * slot, frame.y(value)
            parts.append(
                f'<rect class="mark bar" x="{num(x + 1)}" y="{num(y)}" width="{num(slot - 2)}" '
                f'height="{num(frame.y(0) - y)}" fill="{colors[s]}"><title>{escape(group)} · {escape(name)}: '
                f"{value:.3f}</title></rect>"
            )
            parts.append(
                f'<text class="value" x="{num(x + slot / 2)}" y="{num(y - 4)}" text-anchor="middle">{value:.2f}</text>'
            )
    parts += legend_row(list(series), colors, frame.x(1), 22)
    return "\n".join([*parts, "</svg>"])


def nice_step(span: float, most: int) -> float:
    """The smallest 1/2/5 x 10^n step that cuts span into at most `most` parts."""
    raw = max(span, 1e-9) / most
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))


def _fraction_ticks() -> list[tuple[float, str]]:
    return [(i / 5, f"{i / 5:.1f}") for i in range(6)]


def _colors(count: int, first: int = 0) -> list[str]:
    return [PALETTE[(first + i) % len(PALETTE)] for i in range(count)]


def _range(start: float, stop: float, step: float) -> list[float]:
    """start, start + step, ... up to stop inclusive (within rounding)."""
    return [round(start + i * step, 9) for i in range(int((stop - start) / step + 1e-9) + 1)]
