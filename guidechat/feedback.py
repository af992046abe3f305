"""Readers' feedback on answers, kept as eval cases: one JSON line per vote in HOME/feedback.jsonl, in the eval
suite schema (../shared/eval/README.md), so `guidechat eval HOME/feedback.jsonl` runs the questions readers asked.

- thumbs up on an answer: `expect: answer`, gold = the documents and sections it cited (a regression case);
- thumbs up on an abstention: `expect: abstain`;
- thumbs down, or "wrong citation": the right gold is not known yet, so the case has `gold_urls: []` and
  `needs_review: true` (`wrong_urls` lists what it cited); eval reports it by line and field until a reviewer
  fills in `gold_urls`, and runs the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Literal

from guidechat.types import Answer

Vote = Literal["up", "down", "wrong_citation"]
VOTES: tuple[Vote, ...] = ("up", "down", "wrong_citation")
FILE_NAME = "feedback.jsonl"
_LOCK = threading.Lock()  # one line at a time from the server's worker threads


def feedback_case(answer: Answer, vote: Vote, when: dt.datetime | None = None) -> dict[str, object]:
    """The eval case (plus what was shown and the vote) for one vote on one answer."""
    if vote not in VOTES:
        raise ValueError(f"feedback must be one of {', '.join(VOTES)}, not {vote!r}")
    when = when or dt.datetime.now(dt.UTC)
    digest = hashlib.sha256(f"{when.isoformat()}|{answer.question}|{vote}".encode()).hexdigest()[:10]
    cited_urls = list(dict.fromkeys(c.url for c in answer.citations))
    sections = list(dict.fromkeys(c.section.split(" > ")[-1] for c in answer.citations))
    case: dict[str, object] = {
        "id": f"feedback-{when.strftime('%Y%m%dT%H%M%S')}-{digest}",
        # a follow-up ("And in men?") only means something after its conversation: its standalone form instead
        "question": answer.query or answer.question,
        "asked": answer.question,
        "audience": answer.audience,
        "source": f"guidechat feedback ({vote})",
        "feedback": vote,
        "created": when.isoformat(timespec="seconds"),
    }
    if vote == "up" and answer.abstained:
        case.update(expect="abstain", gold_urls=[])
    elif vote == "up":
        case.update(expect="answer", gold_urls=cited_urls, gold_sections=sections)
    else:
        case.update(expect="answer", gold_urls=[], needs_review=True, wrong_urls=cited_urls)
    case.update(
        shown={
            "query": answer.query,
            "markdown": answer.markdown,
            "abstained": answer.abstained,
            "citations": [{"n": c.n, "url": c.url, "section": c.section, "updated": c.updated}
                          for c in answer.citations],
        }
    )
    return case


def record_feedback(home: Path, answer: Answer, vote: Vote) -> dict[str, object]:
    """Append the vote's case to HOME/feedback.jsonl; returns it."""
    case = feedback_case(answer, vote)
    home.mkdir(parents=True, exist_ok=True)
    line = json.dumps(case, ensure_ascii=False) + "\n"
    with _LOCK, open(home / FILE_NAME, "a", encoding="utf-8") as out:
        out.write(line)
    return case
