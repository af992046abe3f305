"""The Gradio UI: the /answer API through gradio_client, and the chat page in headless Chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guidechat.types import Answer, Asker, Audience, Session
from tests.ui_helpers import running_app

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MRI = "What is the utility of MRI in stage IV breast cancer?"
DISCLAIMER_TEXT = "verify against the primary sources"


@pytest.fixture(scope="module")
def asker(pipeline: Asker) -> Asker:
    """The real pipeline over the real corpus slice (tests/conftest.py)."""
    return pipeline


@pytest.fixture(scope="module")
def base_url(asker: Asker) -> Iterator[str]:
    with running_app(asker) as url:
        yield url


def _client(url: str):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False)


def _check_answer(data: dict[str, Any], question: str) -> None:
    assert data["question"] == question
    assert isinstance(data["markdown"], str) and data["markdown"].strip()
    assert isinstance(data["disclaimer"], str) and data["disclaimer"].strip()
    if not data["abstained"]:
        numbers = {c["n"] for c in data["citations"]}
        markers = {int(m) for m in re.findall(r"\[(\d+)\](?!\()", data["markdown"])}
        assert markers, "a grounded answer cites at least one passage"
        assert markers <= numbers, f"markers {markers - numbers} do not resolve to citations"
        for c in data["citations"]:
            assert c["title"] and c["url"].startswith("http") and c["text"]


@pytest.mark.slow
def test_api_answers_with_citations(base_url: str) -> None:
    data = _client(base_url).predict(MRI, "clinician", api_name="/answer")
    assert isinstance(data, dict)
    _check_answer(data, MRI)
    assert data["abstained"] is False
    assert data["citations"], "the MRI question is answerable from the index"
    assert data["audience"] == "clinician"


@pytest.mark.slow
def test_api_sessions_are_per_client(base_url: str) -> None:
    first = _client(base_url)
    a1 = first.predict(MRI, "clinician", api_name="/answer")
    a2 = first.predict("And in men?", "clinician", api_name="/answer")
    _check_answer(a1, MRI)
    _check_answer(a2, "And in men?")
    # the follow-up was condensed using the same session's previous turn
    assert a2["query"] != "And in men?"

    other = _client(base_url)  # a new client is a new session: nothing to condense against
    b1 = other.predict("How is stage III colon cancer treated after surgery?", "patient", api_name="/answer")
    assert b1["query"] == "How is stage III colon cancer treated after surgery?"
    assert b1["audience"] == "patient"


def _http_answer(url: str, session_hash: str, *data: str) -> tuple[str, Any]:
    """Gradio's plain HTTP API (DEPLOY.md): POST the call with a session hash, then read its event stream."""
    import json

    import httpx

    posted = httpx.post(f"{url}gradio_api/call/answer", json={"data": list(data), "session_hash": session_hash})
    posted.raise_for_status()
    event = ""
    with httpx.stream("GET", f"{url}gradio_api/call/answer/{posted.json()['event_id']}", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                return event, json.loads(line.partition(":")[2])
    raise AssertionError("the event stream ended without a result")


@pytest.mark.slow
def test_plain_http_callers_keep_their_conversation_by_session_hash(base_url: str) -> None:
    event, (first, state) = _http_answer(base_url, "deploy-md-a", MRI, "clinician")
    assert event == "complete" and state is None  # the session itself never leaves the server
    _check_answer(first, MRI)
    event, (follow_up, _) = _http_answer(base_url, "deploy-md-a", "And in men?", "clinician")
    assert event == "complete" and follow_up["query"] != "And in men?", "condensed with the same hash's first turn"
    _, (stranger, _) = _http_answer(base_url, "deploy-md-b", "And in men?", "clinician")
    assert stranger["query"] == "And in men?", "another hash is another conversation"
    event, error = _http_answer(base_url, "deploy-md-a", MRI, "everyone")
    assert event == "error" and "audience" in str(error)


@pytest.mark.slow
def test_api_abstention_keeps_the_disclaimer(base_url: str) -> None:
    data = _client(base_url).predict("How should I titrate basal insulin in type 2 diabetes?", "clinician",
                                     api_name="/answer")
    assert data["abstained"] is True and data["citations"] == []
    assert data["related"], "an abstention lists the nearest sources"
    assert DISCLAIMER_TEXT in data["disclaimer"]


@pytest.mark.slow
def test_api_rejects_bad_audience(base_url: str) -> None:
    with pytest.raises(Exception, match="audience"):
        _client(base_url).predict(MRI, "everyone", api_name="/answer")


@pytest.mark.slow
def test_ui_hides_internal_endpoints(base_url: str) -> None:
    endpoints = _client(base_url).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/answer"]


def test_ask_error_shown_in_chat() -> None:
    from guidechat.ui.app import build_app

    class Broken:
        def ask(self, question: str, session: Session, audience: Audience = "clinician") -> Answer:
            raise RuntimeError("index unavailable")

    app = build_app(Broken())
    respond = next(fn.fn for fn in app.fns.values() if getattr(fn.fn, "__name__", "") == "respond")
    assert respond is not None
    history, _, session = respond("Q?", [{"role": "user", "content": "Q?"}], "clinician", None)
    assert "index unavailable" in history[-1]["content"] and history[-1]["role"] == "assistant"
    assert isinstance(session, Session)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"Chromium not installed at {CHROMIUM} (`make test` installs it; in CI this test never skips)",
)
def test_browser_chat(base_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shot = Path(os.environ.get("GUIDECHAT_SCREENSHOT") or tmp_path / "guidechat.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base_url)
            page.locator("#question textarea").fill(MRI)
            page.locator("#ask").click()
            bot = page.locator("#chat [data-testid='bot']").filter(has_text=DISCLAIMER_TEXT)
            expect(bot.first).to_be_visible(timeout=120_000)
            text = bot.first.inner_text()
            assert re.search(r"\[\d+\]", text), text
            expect(page.locator("#sources a").first).to_be_visible(timeout=10_000)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
