"""The trust features (#7) in the real Gradio app, driven in headless Chromium: a level-of-evidence badge, an old
source flagged, a follow-up asked by a click, feedback written as an eval case, the answer exported, and the
library (upload -> asked -> cited; removed -> no longer cited)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, copy_home
from tests.test_ui import CHROMIUM, CHROMIUM_ARGS, DISCLAIMER_TEXT
from tests.ui_helpers import running_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason=f"Chromium not installed at {CHROMIUM} (`make test` installs it; in CI these tests never skip)",
    ),
]

NHL_QUESTION = "How should non-Hodgkin lymphoma be treated during pregnancy?"
HODGKIN_DOC = "hp/types-lymphoma-hp-hodgkin-lymphoma-treatment-during-pregnancy-pdq.md"
HODGKIN = "https://www.cancer.gov/types/lymphoma/hp/hodgkin-lymphoma-treatment-during-pregnancy-pdq"
HODGKIN_QUESTION = "How is Hodgkin lymphoma treated during pregnancy?"


@pytest.fixture(scope="module")
def ui_pipeline(trust_home: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The trust index, copied: the library tests add and remove documents."""
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings

    home = copy_home(trust_home, tmp_path_factory.mktemp("ui-trust") / "home")
    return ChatPipeline.from_settings(Settings(home=home))


@pytest.fixture(scope="module")
def page(ui_pipeline) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with running_app(ui_pipeline) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
            tab.goto(url)
            yield tab
        finally:
            browser.close()


def ask(page: Any, question: str) -> Any:
    """Type and send a question; the new answer's message once it is in."""
    from playwright.sync_api import expect

    answers = page.locator("#chat [data-testid='bot']").filter(has_text=DISCLAIMER_TEXT)
    before = answers.count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    expect(answers).to_have_count(before + 1, timeout=180_000)
    expect(page.locator("#question textarea")).to_be_editable(timeout=30_000)
    return answers.nth(before)


def wait_for(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def new_conversation(page: Any) -> None:
    page.locator("#new").click()
    page.wait_for_timeout(500)


def test_badge_follow_up_feedback_and_export(page, ui_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    new_conversation(page)
    answer = ask(page, NHL_QUESTION)
    text = answer.inner_text()
    assert "LoE C3" in text and "Levels of evidence" in text
    assert "updated 2025-02-18" in text
    assert "Case series or other observational study design" in text  # the legend, read from the index
    expect(page.locator("#sources")).to_contain_text("levels of evidence C3")

    # the answer as a markdown file
    with page.expect_download() as download:
        page.locator("#export").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith(f"# {NHL_QUESTION}") and "`LoE C3`" in exported and "**References**" in exported

    # feedback: thumbs up, then "wrong citation", each a line in HOME/feedback.jsonl
    feedback = ui_pipeline.home.root / "feedback.jsonl"
    answer.hover()
    page.locator("#chat button[aria-label='Like']").last.click()
    assert wait_for(lambda: feedback.exists() and len(feedback.read_text().splitlines()) == 1)
    first = json.loads(feedback.read_text().splitlines()[0])
    assert first["feedback"] == "up" and first["expect"] == "answer" and first["question"] == NHL_QUESTION
    assert "https://www.cancer.gov/types/lymphoma/hp/non-hodgkin-lymphoma-treatment-during-pregnancy-pdq" in first[
        "gold_urls"]
    page.locator("#chat button[aria-label='Feedback']").last.click()
    page.locator("#chat").get_by_text("Wrong citation").last.click()
    assert wait_for(lambda: len(feedback.read_text().splitlines()) == 2)
    assert json.loads(feedback.read_text().splitlines()[1])["feedback"] == "wrong_citation"

    # a suggested follow-up, asked by a click
    button = page.locator("#followup-0")
    expect(button).to_be_visible(timeout=10_000)
    followup = button.inner_text().strip()
    assert followup.startswith("What does the guidance")
    answers = page.locator("#chat [data-testid='bot']").filter(has_text=DISCLAIMER_TEXT)
    before = answers.count()
    button.click()
    expect(answers).to_have_count(before + 1, timeout=180_000)
    expect(page.locator("#chat [data-testid='user']").last).to_contain_text(followup[:40])


def test_old_source_is_flagged(page) -> None:  # type: ignore[no-untyped-def]
    new_conversation(page)
    text = ask(page, "What is 714-X?").inner_text()
    assert "Older source" in text and "last updated 2018-08-22" in text and "after 5 years" in text


def test_library_upload_ask_remove(page, ui_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    upload = tmp_path / "Hodgkin lymphoma in pregnancy.md"
    shutil.copy(CORPUS / HODGKIN_DOC, upload)
    page.get_by_role("tab", name="Library").click()
    page.locator("#library-upload input[type=file]").set_input_files(str(upload))
    page.wait_for_timeout(1500)  # the file reaches the server
    page.locator("#library-add").click()
    expect(page.locator("#library-status")).to_contain_text("Added", timeout=180_000)
    expect(page.locator("#library-table")).to_contain_text("Hodgkin Lymphoma Treatment During Pregnancy")
    page.locator("#library-search input, #library-search textarea").first.fill("uploads")
    expect(page.locator("#library-count")).to_contain_text("1 of", timeout=10_000)

    page.get_by_role("tab", name="Chat").click()
    new_conversation(page)
    ask(page, HODGKIN_QUESTION)
    expect(page.locator("#sources")).to_contain_text("Hodgkin Lymphoma Treatment During Pregnancy")
    assert HODGKIN in page.locator("#sources").inner_html()

    page.get_by_role("tab", name="Library").click()
    remove = page.locator("#library-remove-docs input")
    remove.click()
    remove.fill("Hodgkin")
    page.get_by_role("option", name=re.compile(r"^Hodgkin Lymphoma Treatment During Pregnancy")).click()
    remove.press("Escape")  # the list stays open after a choice in a multiselect
    expect(page.locator("#library-remove-docs")).to_contain_text("Hodgkin Lymphoma Treatment During Pregnancy")
    page.locator("#library-remove").click()
    expect(page.locator("#library-status")).to_contain_text("Removed 1 document", timeout=120_000)
    assert HODGKIN not in {e.url for e in ui_pipeline.manifest().documents.values()}

    page.get_by_role("tab", name="Chat").click()
    new_conversation(page)
    ask(page, HODGKIN_QUESTION)
    assert HODGKIN not in page.locator("#sources").inner_html()


def test_screenshot_dates_evidence_and_an_older_source(page, ui_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One answer with dates, level-of-evidence badges and the legend, and its source flagged as older than the
    configured age: 1 year here (no summary in the corpus both carries levels of evidence and is 5 years old).
    GUIDECHAT_TRUST_SCREENSHOT=docs/trust.png keeps the picture."""
    import datetime as dt

    from guidechat.chat.recency import is_stale

    trust = ui_pipeline.trust
    default = trust.settings
    trust.settings = default.model_copy(update={"stale_after_years": 1})
    try:
        new_conversation(page)
        answer = ask(page, NHL_QUESTION)
    finally:
        trust.settings = default
    text = answer.inner_text()
    assert "LoE C3" in text and "updated 2025-02-18" in text
    assert ("Older source" in text) == is_stale("2025-02-18", 1, dt.date.today())
    shot = Path(os.environ.get("GUIDECHAT_TRUST_SCREENSHOT") or tmp_path / "trust.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#chat").evaluate("el => { el.style.height = 'auto'; }")
    answer.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
