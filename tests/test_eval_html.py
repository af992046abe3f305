"""report.html: plots computed from a hand-built report (exact SVG geometry), escaping, no external resources,
and the page rendered in headless Chromium from a file:// URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from guidechat.eval.html import hit_curve, hit_rank, render_html
from guidechat.eval.report import write_reports

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
G1, G2, G3, X, Y = (f"https://example.org/{name}" for name in ("g1", "g2", "g3", "x", "y"))
SCRIPT = '<script>alert("x")</script>'


def _case(
    case_id: str, suite: str, expect: str, gold: list[str], retrieved: list[str], total_ms: float, **extra: Any
) -> dict[str, Any]:
    return {
        "id": case_id,
        "suite": suite,
        "turn": 1,
        "expect": expect,
        "gold_urls": gold,
        "question": f"question {case_id}?",
        "retrieved": [{"url": url, "section": "S"} for url in retrieved],
        "abstained": expect == "abstain",
        "latency_ms": {"retrieve": total_ms / 2, "total": total_ms, "wall": total_ms + 1},
        "scores": {},
        **extra,
    }


def _figures(hit5: float | None, mrr: float | None, answerable: int) -> dict[str, Any]:
    return {
        "turns": answerable,
        "answerable": answerable,
        "doc_hit@5": hit5,
        "mrr": mrr,
        "abstention": {"precision": 1.0, "recall": 1.0, "over_refusal": 0.0},
        "latency_ms": {"total": {"p50": 340.0, "p95": 980.0}},
    }


def small_report() -> dict[str, Any]:
    """Ranks: a1 at 1, a2 at 3 (X counts once), b1 missed, b2 an abstention (not in the hit@k curve)."""
    cases = [
        _case("a1", "alpha", "answer", [G1], [G1, X], 120),
        _case("a2", "alpha", "answer", [G2], [X, X, Y, G2], 340),
        _case("b1", "beta", "answer", [G3], [X], 560, question=SCRIPT),
        _case("<img src=x>", "beta", "abstain", [], [X], 980),
    ]
    return {
        "preset": "guidechat",
        "suites": ["alpha.jsonl", "beta.jsonl"],
        "settings": {"top_k": 5},
        "settings_hash": "abc123",
        "index_digest": "feed",
        "git_commit": "0badc0de",
        "overall": _figures(2 / 3, 4 / 9, 3),
        "by_suite": {"alpha": _figures(1.0, 2 / 3, 2), "beta": _figures(0.0, 0.0, 1)},
        "by_qtype": {"symptoms": _figures(1.0, 0.75, 2), "treatment": _figures(0.5, None, 1)},
        "by_audience": {},
        "by_turn": {"first": _figures(2 / 3, 4 / 9, 3)},
        "cases": cases,
    }


def _polyline(html: str, series: str) -> str:
    match = re.search(rf'<polyline[^>]*data-series="{series}"[^>]*points="([^"]+)"', html)
    assert match, f"no polyline for {series}"
    return match.group(1)


def test_hit_ranks_and_curve_from_retrieved_urls() -> None:
    cases = small_report()["cases"]
    assert [hit_rank(c) for c in cases] == [1, 3, None, None]
    assert hit_curve(cases) == [1 / 3, 1 / 3] + [2 / 3] * 8
    # reports written before cases carried gold_urls: the rank comes back from the reciprocal rank
    assert hit_rank({"scores": {"mrr": 0.25}}) == 4 and hit_rank({"scores": {"mrr": 0.0}}) is None


def test_hit_at_k_polylines_have_exact_points() -> None:
    html = render_html(small_report())
    # x = 60 + 60 (k - 1); the lowest rate is 0, so y = 40 + 240 (1 - rate)
    xs = [60 + 60 * i for i in range(10)]
    assert _polyline(html, "overall") == " ".join(f"{x},{y}" for x, y in zip(xs, [200, 200] + [120] * 8, strict=True))
    assert _polyline(html, "alpha") == " ".join(f"{x},{y}" for x, y in zip(xs, [160, 160] + [40] * 8, strict=True))
    assert _polyline(html, "beta") == " ".join(f"{x},280" for x in xs)


def test_latency_histogram_and_qtype_bars() -> None:
    html = render_html(small_report())
    latency = html.split('id="plot-latency"')[1].split("</svg>")[0]
    # totals 120..980 ms: 50 ms bins (the smallest 1/2/5 step giving at most 24), 20 of them
    assert latency.count('class="mark bar"') == 20
    assert "p50 340 ms" in latency and "p95 980 ms" in latency  # nearest rank of 4 totals
    qtype = html.split('id="plot-qtype"')[1].split("</svg>")[0]
    assert qtype.count('class="mark bar"') == 3  # treatment has no MRR: a gap, not a zero bar
    assert "symptoms (2)" in qtype and ">0.75<" in qtype


def test_strings_are_escaped_and_nothing_is_loaded_from_outside() -> None:
    html = render_html(small_report())
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x&gt;" in html
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "abc123" in html and "0badc0de" in html and "feed" in html


def test_write_reports_adds_html_and_bad_report_names_the_field(tmp_path: Path) -> None:
    write_reports(small_report(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json", "report.md"]
    with pytest.raises(ValueError, match="'overall'"):
        render_html({"cases": []})


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"Chromium not installed at {CHROMIUM} (`make test` installs it; in CI this test never skips)",
)
def test_report_html_renders_its_plots_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    write_reports(small_report(), tmp_path)
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto((tmp_path / "report.html").as_uri())
            # 3 lines x 10 k; 20 latency bins; 2 + 1 qtype bars
            expected = {"plot-hit-at-k": ("circle.mark", 30), "plot-latency": ("rect.mark", 20)}
            for plot, (marks, count) in {**expected, "plot-qtype": ("rect.mark", 3)}.items():
                box = page.locator(f"svg#{plot}").bounding_box()
                assert box and box["width"] > 300 and box["height"] > 200, (plot, box)
                assert page.locator(f"svg#{plot} {marks}").count() == count, plot
            filled = page.locator("svg#plot-latency rect.mark").nth(2).bounding_box()  # the 100-150 ms bin
            assert filled and filled["height"] > 10
            assert page.locator("table.cases tr").count() == 5
            assert page.locator("table.cases").inner_text().count(SCRIPT) == 1  # shown as text, never run
        finally:
            browser.close()
    assert requested == [(tmp_path / "report.html").as_uri()], "the report loads nothing besides itself"
