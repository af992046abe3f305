"""Rendering safety in a real browser: documents (ingested into a real index) and questions carrying <script>,
<img onerror>, javascript: links and markdown link tricks are shown as text and never run; every link on the
page's answer and sources points to a document's own http(s) url."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from guidechat.config import Settings
from tests.security_counts import record
from tests.ui_helpers import running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
GOOD_URL = "https://example.org/guidelines/zorblax-treatment"

# Each payload, if it ran, would record its name through window.__xss or open a dialog.
PAYLOADS = {
    "script": "<script>window.__xss='script'</script>",
    "img-onerror": "<img src=x onerror=\"window.__xss='img-onerror'\">",
    "svg-onload": "<svg onload=\"window.__xss='svg-onload'\"></svg>",
    "iframe-js": "<iframe src=\"javascript:window.__xss='iframe-js'\"></iframe>",
    "details-ontoggle": "<details open ontoggle=\"window.__xss='details-ontoggle'\">x</details>",
    "input-onfocus": "<input autofocus onfocus=\"window.__xss='input-onfocus'\">",
    "a-href-js": "<a href=\"javascript:window.__xss='a-href-js'\">a link</a>",
    "a-href-entity": "<a href=\"&#106;avascript:window.__xss='a-href-entity'\">a link</a>",
    "object-data": "<object data=\"javascript:window.__xss='object-data'\"></object>",
    "body-onload": "<body onload=\"window.__xss='body-onload'\">",
    "md-link-js": "[a markdown link](javascript:window.__xss='md-link-js')",
    "md-link-case": "[a markdown link](JaVaScRiPt:window.__xss='md-link-case')",
    "md-link-nested": "[a [nested] link](javascript:window.__xss='md-link-nested')",
    "md-link-angle": "[an angle link](<javascript:window.__xss='md-link-angle'>)",
    "md-link-data": "[a data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "md-link-vbscript": "[a vb link](vbscript:msgbox)",
    "md-image-onerror": "![alt\" onerror=\"window.__xss='md-image-onerror'](x)",
    "md-reference": "[a reference link][evil]\n\n[evil]: javascript:window.__xss='md-reference'",
    "md-autolink": "<javascript:window.__xss='md-autolink'>",
    "md-spoof": "[https://www.cancer.gov/](https://evil.example/phish)",
    "alert": "<img src=x onerror=alert('alert')>",
}
QUESTION_PAYLOADS = {
    "q-script": "How often is zorblax screening done? <script>window.__xss='q-script'</script>",
    "q-img": "Zorblax treatment for adults <img src=x onerror=\"window.__xss='q-img'\">?",
    "q-link": "What is [zorblax](javascript:window.__xss='q-link') therapy?",
    "q-unknown-name": "Does Quux <b onmouseover=alert('q-unknown-name')>Therapy</b> Helix treat zorblax?",
}


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    url = url.strip()
    return (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()


def _documents(folder: Path) -> None:
    """Two guidelines about a made-up disease, their every sentence laced with a payload, one with a hostile url
    and title, one with a proper http(s) url."""
    names = list(PAYLOADS)
    hostile = [
        "---",
        "title: \"Zorblax Screening <img src=x onerror=\\\"window.__xss='title'\\\">\"",
        "url: \"javascript:window.__xss='url'\"",
        "audience: clinician",
        "updated: 2025-01-01",
        "---",
        "# Zorblax Screening",
        "",
        "## Screening <img src=x onerror=\"window.__xss='section'\"> intervals",
        "",
    ]
    for name in names[: len(names) // 2]:
        hostile += [f"Adults should have zorblax screening every year, as the zorblax screening trials showed "
                    f"{PAYLOADS[name]} for adults with zorblax.", ""]  # fmt: skip
    (folder / "zorblax-screening.md").write_text("\n".join(hostile), encoding="utf-8")
    good = ["---", "title: Zorblax Treatment", f"url: {GOOD_URL}", "audience: clinician", "updated: 2025-02-02",
            "---", "# Zorblax Treatment", "", "## Treatment of zorblax in adults", ""]  # fmt: skip
    for name in names[len(names) // 2 :]:
        good += [f"Zorblax treatment for adults is zorblax therapy with rest and fluids {PAYLOADS[name]} for "
                 f"adults with zorblax.", ""]  # fmt: skip
    (folder / "zorblax-treatment.md").write_text("\n".join(good), encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.index.indexer import IndexHome, ingest

    docs = tmp_path_factory.mktemp("hostile-docs")
    _documents(docs)
    settings = Settings(home=tmp_path_factory.mktemp("hostile-home"))
    report = ingest(IndexHome(settings), [docs], progress=False)
    assert report.new == 2 and not report.failed, report.summary()
    with running_app(ChatPipeline.from_settings(settings), settings=settings) as url:
        yield url


PROBE = """
window.__xss_hits = [];
Object.defineProperty(window, '__xss', {set(v) { window.__xss_hits.push(String(v)); }, get() { return undefined; }});
"""
# elements that must not exist in the chat or the sources, and attributes no element there may carry
DANGEROUS = """
() => {
  const found = [];
  const rendered = "#chat [data-testid='bot'] *, #chat [data-testid='user'] *, #sources .prose *";
  for (const el of document.querySelectorAll(rendered)) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'svg', 'input', 'details', 'body', 'math', 'img'].includes(tag)
        && !el.closest('button')) found.push('<' + tag + '>: ' + el.outerHTML.slice(0, 200));
  }
  for (const el of document.querySelectorAll('#chat *, #sources *')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(el.tagName.toLowerCase() + '[' + attr.name + ']');
    }
  }
  return found;
}
"""


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"Chromium not installed at {CHROMIUM} (`make test` installs it; in CI this test never skips)",
)
def test_hostile_documents_and_questions_render_as_text(hostile_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    questions = [
        "How often should adults have zorblax screening?",
        "What is the zorblax treatment for adults?",
        *QUESTION_PAYLOADS.values(),
    ]
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(PROBE)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(hostile_url)
            seen_sources = ""
            hrefs: set[str] = set()
            source_links: set[str] = set()
            url_texts: list[tuple[str, str]] = []
            for n, question in enumerate(questions, 1):
                page.locator("#question textarea").fill(question)
                page.locator("#ask").click()
                bots = page.locator("#chat [data-testid='bot']").filter(has_text="verify against the primary")
                expect(bots).to_have_count(n, timeout=120_000)
                page.mouse.move(700, 300)  # hover over the answer (an onmouseover would fire now)
                seen_sources += page.locator("#sources").inner_text()
                hrefs |= set(page.locator("#chat a[href], #sources a[href]").evaluate_all(
                    "els => els.map(e => e.getAttribute('href'))"))  # fmt: skip
                # the source of each passage (sources panel) and the references under each answer
                source_links |= set(page.locator("#sources strong a, #chat [data-testid='bot'] ol > li > a:first-child")
                                    .evaluate_all("els => els.map(e => e.getAttribute('href'))"))  # fmt: skip
                url_texts += page.locator("#chat a[href], #sources a[href]").evaluate_all(
                    "els => els.map(e => [e.innerText, e.getAttribute('href')])")
                assert page.evaluate(DANGEROUS) == [], page.evaluate(DANGEROUS)
            chat_text = page.locator("#chat").inner_text()
            hits = page.evaluate("window.__xss_hits")
        finally:
            browser.close()

    executed = len(hits) + len(dialogs)
    record("xss_browser", payloads_tried=len(PAYLOADS) + len(QUESTION_PAYLOADS) + 3, executed=executed,
           source_links=sorted(source_links), links_seen=len(hrefs))  # fmt: skip
    assert executed == 0, (hits, dialogs)
    # shown as text: the markup is there to read, in the sources and in the echoed questions
    assert "onerror" in seen_sources and "<script>" in seen_sources, seen_sources[:2000]
    assert "<script>window.__xss='q-script'</script>" in chat_text
    # sources link only to a document's own http(s) url (the hostile document's javascript: url is no link);
    # any other link is http(s), and one whose text is a url goes where its text says
    assert source_links == {GOOD_URL}, source_links
    assert all(h.startswith(("https://", "http://")) for h in hrefs), hrefs
    for text, href in url_texts:
        if text.strip().startswith(("http://", "https://", "www.")):
            assert _host(text) == _host(href), f"a link reading {text!r} goes to {href!r}"
