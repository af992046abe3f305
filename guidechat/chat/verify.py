"""Checks that an answer says nothing its cited passages do not: every [n] resolves, every sentence is
found in a passage it cites. The tests and the eval use it; generated answers (#4) will too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guidechat.chat.compose import HEADINGS
from guidechat.types import Answer

_MARKERS = re.compile(r"\s*\[(\d+)\](?!\()")  # "[2](url)" in a quoted passage is a link, not a marker
_LABELS = "|".join(re.escape(h) for names in HEADINGS.values() for h in names)
_HEADING = re.compile(r"^\*\*(?:" + _LABELS + r"):?\*\*:?\s*")  # only the composer's own group labels
_BULLET = re.compile(r"^\s*-\s+")


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without its markers
    cites: tuple[int, ...]


def claims(markdown: str) -> list[Claim]:
    """Each cited line of an answer body, as the sentence and the numbers it cites."""
    out = []
    for line in markdown.splitlines():
        line = _BULLET.sub("", _HEADING.sub("", line.strip()))
        numbers = tuple(int(n) for n in _MARKERS.findall(line))
        text = _MARKERS.sub("", line).strip()
        if text:
            out.append(Claim(text, numbers))
    return out


def normalise(text: str) -> str:
    """Whitespace only: a quoted sentence must match its passage character for character otherwise."""
    return " ".join(text.split())


def unresolved_markers(answer: Answer) -> list[int]:
    known = {c.n for c in answer.citations}
    return [n for claim in claims(answer.markdown) for n in claim.cites if n not in known]


def unsupported_claims(answer: Answer) -> list[Claim]:
    """Claims with no citation, or found in none of the passages they cite."""
    passages = {c.n: normalise(c.text) for c in answer.citations}
    bad = []
    for claim in claims(answer.markdown):
        cited = [passages[n] for n in claim.cites if n in passages]
        if not any(normalise(claim.text) in p for p in cited):
            bad.append(claim)
    return bad
