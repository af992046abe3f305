"""Screenshot a report.html (full page) in headless Chromium.

.venv/bin/python benchmarks/report_screenshot.py out/eval-dev/report.html docs/report.png --max-height 1800

--max-height crops a long page (the per-turn table) to its top part.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def screenshot(report_html: Path, png: Path, width: int = 1280, max_height: int | None = None) -> None:
    from playwright.sync_api import sync_playwright

    if not report_html.is_file():
        raise SystemExit(f"report_screenshot: no such file {report_html}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
            page.goto(report_html.resolve().as_uri())
            png.parent.mkdir(parents=True, exist_ok=True)
            if max_height is None:
                page.screenshot(path=str(png), full_page=True)
            else:
                height = min(max_height, int(page.evaluate("document.documentElement.scrollHeight")))
                clip = {"x": 0, "y": 0, "width": width, "height": height}
                page.screenshot(path=str(png), full_page=True, clip=clip)  # type: ignore[arg-type]
        finally:
            browser.close()
    print(f"saved {png}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--max-height", type=int, default=None)
    args = parser.parse_args()
    screenshot(args.report_html, args.png, args.width, args.max_height)
