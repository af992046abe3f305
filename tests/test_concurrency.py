"""Many users at once, through the real Gradio API over the real pipeline, while an ingest adds documents to the
index being served: 50 sessions x 10 turns in parallel, each with follow-ups that only make sense in its own
conversation. Every follow-up must resolve exactly as it does when that conversation runs alone (zero
cross-session leakage), and the server must keep answering a newcomer within a bound."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from guidechat.config import Settings
from guidechat.types import Audience, Session
from tests.conftest import corpus_file
from tests.security_counts import record
from tests.ui_helpers import running_app

pytestmark = pytest.mark.slow

SESSIONS_PER_TOPIC = 10  # x 5 topics = 50 sessions
PROBE_BOUND_S = 90.0  # a newcomer's answer, queued behind up to 50 others on a 2-core machine
PAGE_BOUND_S = 10.0  # the page itself: the server's event loop is never blocked by answering
TOPICS: dict[str, tuple[Audience, list[str]]] = {
    "testicular": ("patient", [
        "Should men be screened for testicular cancer?", "And what are the risks?", "What about self-exams?",
        "Is it common?", "And in young men?", "What are the harms of screening?", "How is it found?",
        "Does it help to find it early?", "What about a doctor's exam?", "Can it be cured?"]),
    "male breast": ("clinician", [
        "How is breast cancer in men treated?", "And what about surgery?", "What are the risk factors?",
        "What about tamoxifen?", "And radiation therapy?", "Is the prognosis different from women?",
        "What about BRCA2?", "And chemotherapy?", "How common is it?", "What about metastatic disease?"]),
    "pregnancy": ("clinician", [
        "How is breast cancer treated during pregnancy?", "Is chemotherapy safe for the baby?",
        "And radiation?", "What about surgery?", "When should the pregnancy end?", "What about breastfeeding?",
        "And the prognosis?", "What about trastuzumab?", "How is it diagnosed?", "And after delivery?"]),
    "liver": ("clinician", [
        "Who should be screened for liver cancer?", "And with ultrasound?", "What about alpha-fetoprotein?",
        "What are the harms?", "And in hepatitis B carriers?", "What about cirrhosis?", "Does it reduce deaths?",
        "How often?", "And false positives?", "What about overdiagnosis?"]),
    "endometrial": ("patient", [
        "How can endometrial cancer be prevented?", "And what about obesity?", "What about birth control pills?",
        "And physical activity?", "What are the risk factors?", "What about tamoxifen?", "And diabetes?",
        "What about hormone therapy?", "Does smoking matter?", "And weight loss?"]),
}  # fmt: skip
# added to the served index during the load; unrelated to every topic
INGESTED_DURING_LOAD = (
    "patient/types-head-and-neck-patient-oral-prevention-pdq.md",
    "patient/types-skin-patient-skin-screening-pdq.md",
)


def _alone(pipeline: Any, audience: Audience, questions: list[str]) -> list[dict[str, Any]]:
    """A conversation on its own: what each turn's query and citations are with no one else around."""
    session = Session()
    return [pipeline.ask(q, session, audience).to_json() for q in questions]


def test_fifty_parallel_sessions_never_leak_while_ingesting(slice_home: Path, tmp_path: Path) -> None:
    from gradio_client import Client

    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.index.indexer import IndexHome, ingest

    home = tmp_path / "home"
    shutil.copytree(slice_home, home)  # served and ingested into; the session's slice index stays as it is
    settings = Settings(home=home)
    pipeline = ChatPipeline.from_settings(settings)
    expected = {topic: _alone(pipeline, audience, questions) for topic, (audience, questions) in TOPICS.items()}
    extra = tmp_path / "extra"
    extra.mkdir()
    for relative in INGESTED_DURING_LOAD:
        shutil.copy(corpus_file(relative), extra)

    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    errors: list[str] = []
    probe: dict[str, float] = {}
    ingest_report: list[str] = []

    def conversation(topic: str, copy: int, url: str) -> None:
        audience, questions = TOPICS[topic]
        try:
            # one client: one session, kept by the server; this checks leaks, not speed (the probe does that), so
            # a turn queued behind 49 others on a busy 2-core CI machine may take long without failing the test
            client = Client(url, verbose=False, httpx_kwargs={"timeout": 600})
            results[(topic, copy)] = [client.predict(q, audience, api_name="/answer") for q in questions]
        except Exception as exc:  # counted, and the test fails on it below
            errors.append(f"{topic} #{copy}: {type(exc).__name__}: {exc}")

    def ingest_more() -> None:
        time.sleep(5)  # the load is running
        report = ingest(IndexHome(Settings(home=home)), [extra], progress=False)
        ingest_report.append(report.summary())

    def probe_newcomer(url: str) -> None:
        time.sleep(15)
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=PAGE_BOUND_S) as page:
            assert page.status == 200
        probe["page_s"] = time.perf_counter() - t
        t = time.perf_counter()
        newcomer = Client(url, verbose=False, httpx_kwargs={"timeout": PROBE_BOUND_S})
        answer = newcomer.predict("What is testicular cancer?", "patient", api_name="/answer")
        probe["answer_s"] = time.perf_counter() - t
        probe["ok"] = float(answer["question"] == "What is testicular cancer?")

    started = time.perf_counter()
    with running_app(pipeline, settings=settings) as url:
        side = [threading.Thread(target=ingest_more), threading.Thread(target=probe_newcomer, args=(url,))]
        for thread in side:
            thread.start()
        with ThreadPoolExecutor(max_workers=len(TOPICS) * SESSIONS_PER_TOPIC) as pool:
            for topic in TOPICS:
                for copy in range(SESSIONS_PER_TOPIC):
                    pool.submit(conversation, topic, copy, url)
        for thread in side:
            thread.join(timeout=600)
    seconds = time.perf_counter() - started

    new_urls = {"https://www.cancer.gov/types/head-and-neck/patient/oral-prevention-pdq",
                "https://www.cancer.gov/types/skin/patient/skin-screening-pdq"}  # fmt: skip
    after: dict[str, list[dict[str, Any]]] = {}  # alone again, now that the index holds the new documents

    def allowed(topic: str, turn: int, index_grown: bool) -> set[str]:
        if index_grown and topic not in after:
            after[topic] = _alone(pipeline, *TOPICS[topic])
        runs = [expected[topic][turn], *([after[topic][turn]] if index_grown else [])]
        return {d["url"] for run in runs for d in run["citations"] + run["related"]} | new_urls

    leaks: list[str] = []
    for (topic, copy), answers in sorted(results.items()):
        for turn, (got, alone) in enumerate(zip(answers, expected[topic], strict=True)):
            if got["query"] != alone["query"]:
                leaks.append(f"{topic} #{copy} turn {turn}: query {got['query']!r}, alone {alone['query']!r}")
            cited = {c["url"] for c in got["citations"]}
            # a turn answered while the ingest ran may have met the index before or after it grew
            if (stray := cited - allowed(topic, turn, False)) and (stray := cited - allowed(topic, turn, True)):
                leaks.append(f"{topic} #{copy} turn {turn}: cites {sorted(stray)}")
    turns = sum(len(a) for a in results.values())
    record("parallel_sessions", sessions=len(results), turns=turns, leaks=len(leaks), errors=len(errors),
           seconds=round(seconds, 1), probe_page_s=round(probe.get("page_s", -1), 2),
           probe_answer_s=round(probe.get("answer_s", -1), 1), ingested=ingest_report)  # fmt: skip
    assert not errors, errors[:5]
    assert len(results) == len(TOPICS) * SESSIONS_PER_TOPIC and turns == 10 * len(results)
    assert not leaks, leaks[:10]
    assert ingest_report and "2 new" in ingest_report[0], ingest_report
    assert probe.get("ok") == 1.0 and probe["page_s"] < PAGE_BOUND_S and probe["answer_s"] < PROBE_BOUND_S, probe
    # the follow-ups did lean on their own conversation (otherwise the check above would prove little)
    carried = sum(1 for answers in expected.values() for a in answers[1:] if a["query"] != a["question"])
    assert carried >= 25, f"only {carried} of 45 follow-ups carried their conversation's topic"
