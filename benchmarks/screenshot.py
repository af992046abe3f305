"""Serve the chat over $GUIDECHAT_HOME, ask a question in headless Chromium, save a screenshot.

GUIDECHAT_HOME=.guidechat .venv/bin/python benchmarks/screenshot.py docs/screenshot.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from guidechat.config import Settings, configure_offline_environment

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main(out: Path, question: str) -> None:
    configure_offline_environment()
    from playwright.sync_api import expect, sync_playwright

    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.ui.app import build_app

    app = build_app(ChatPipeline.from_settings(Settings()))
    _, url, _ = app.launch(
        server_name="127.0.0.1", server_port=7871, prevent_thread_lock=True, quiet=True, ssr_mode=False
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(url)
            page.locator("#question textarea").fill(question)
            page.locator("#ask").click()
            bot = page.locator("#chat [data-testid='bot']").filter(has_text="verify against the primary sources")
            expect(bot.first).to_be_visible(timeout=120_000)
            page.evaluate(  # show the answer from its first line: the bottom line
                "document.querySelectorAll('#chat *')"
                ".forEach(e => { if (e.scrollHeight > e.clientHeight) e.scrollTop = 0; })"
            )
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    finally:
        app.close()
    print(f"saved {out}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "What is the utility of MRI in stage IV breast cancer?"
    )
