"""Checks that an answer says nothing its cited passages do not: every [n] resolves, every sentence is
supported by a passage it cites. The tests, the eval and the generative composer all use these functions.

A sentence is supported by a passage when it is quoted from it (whitespace aside), or when it is a close
paraphrase of it:
- its content words (stemmed) occur in that one passage, but for generic words such as "patients" or
  "guideline" (GENERIC_WORDS); a share below 1.0 would let one changed verb through ("increases" for
  "reduces" in a six-word sentence), so SUPPORT_MIN_COVERAGE is 1.0,
- every number in the sentence occurs in that passage (doses, percentages, years, stages written as digits),
- its negations match: among the passage sentences that share the most words with it, one has the same
  negation words ("not"/"cannot"/"n't", "no"/"none", "never", "without", "neither"/"nor") as the sentence.
  A quote cut short ("recommended in pregnancy." out of "... is not recommended in pregnancy.") fails this too.
Stopwords do not count, so "should" and "may" are interchangeable here; a paraphrase that changes a content
word, a number or a negation is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from guidechat.chat.compose import HEADINGS
from guidechat.chat.prompts import SECTION_LABELS
from guidechat.text import content_words, split_sentences, stem
from guidechat.types import Answer

SUPPORT_MIN_COVERAGE = 1.0  # share of a paraphrase's content words that its passage must contain
SUPPORT_MIN_WORDS = 2  # a paraphrase with fewer content words says too little to check
# Words a paraphrase may add: they name who or where, not what is claimed.
GENERIC_WORDS = frozenset(
    "patient patients people person persons individual individuals guideline guidelines guidance passage "
    "passages source sources document documents generally usually typically overall however include includes "
    "including".split()
)

_MARKER = r"\[(\d+)\](?!\()"  # "[2](url)" in a quoted passage is a link, not a marker
_MARKERS = re.compile(r"\s*" + _MARKER)
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+\](?!\())+)")  # "safe. [1] Next" -> "safe [1]. Next"
_ONLY_MARKERS = re.compile(r"^(?:\s*\[\d+\](?!\())+\s*$")
_LABELS = "|".join(
    re.escape(h) for names in [*HEADINGS.values(), *SECTION_LABELS.values()] for h in names
)
_HEADING = re.compile(r"^\*\*(?:" + _LABELS + r"):?\*\*:?\s*")  # only the composers' own group labels
_BULLET = re.compile(r"^\s*-\s+")
_NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|cannot)\b|(n't)\b", re.I)
_NEGATION_KIND = {"cannot": "not", "n't": "not", "none": "no", "nor": "neither"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without its markers
    cites: tuple[int, ...]


def line_claims(line: str) -> list[Claim]:
    """The sentences of one line, each with the markers inside it or right after it."""
    line = _MARKERS_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), line.strip())
    out: list[Claim] = []
    for piece in split_sentences(line):
        numbers = tuple(int(n) for n in _MARKERS.findall(piece))
        if _ONLY_MARKERS.match(piece) and out:  # markers after a sentence that ends in ")" or a quote
            out[-1] = Claim(out[-1].text, out[-1].cites + numbers)
            continue
        text = _MARKERS.sub("", piece).strip()
        if text:
            out.append(Claim(text, numbers))
    return out


def claims(markdown: str) -> list[Claim]:
    """Each sentence of an answer body, with the numbers it cites (group labels and bullets are not claims)."""
    out = []
    for line in markdown.splitlines():
        out.extend(line_claims(_BULLET.sub("", _HEADING.sub("", line.strip()))))
    return out


def normalise(text: str) -> str:
    """Whitespace only: a quoted sentence must match its passage character for character otherwise."""
    return " ".join(text.split())


def content_stems(text: str) -> set[str]:
    """Stemmed content words; numbers and negations are left to their own checks."""
    return {
        stem(w)
        for part in content_words(text)
        for w in re.split(r"[/\-]", part)
        if w and not w.isdigit() and not _NEGATION.fullmatch(w)
    }


_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS)


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def negations(text: str) -> frozenset[str]:
    found = (a or b for a, b in _NEGATION.findall(text))
    return frozenset(_NEGATION_KIND.get(w.lower(), w.lower()) for w in found)


def _units(passage: str) -> list[str]:
    """Passage sentences, table rows included (a model may cite a table's contents)."""
    units: list[str] = []
    for line in passage.splitlines():
        line = line.strip()
        if line.startswith("|"):
            units.append(line)
        elif line:
            units.extend(split_sentences(line))
    return units or [passage]


def support_problem(sentence: str, passage: str) -> str | None:
    """Why the passage does not support the sentence, or None when it does (see the module's docstring)."""
    words = content_stems(sentence)
    quoted = normalise(sentence) in normalise(passage)
    if not quoted:
        if len(words) < SUPPORT_MIN_WORDS:
            return "too short to check against its passage"
        found = content_stems(passage) | _GENERIC_STEMS
        missing = sorted(words - found)
        if len(words & found) < SUPPORT_MIN_COVERAGE * len(words):
            return "words not in the cited passage: " + ", ".join(missing[:6])
        extra = sorted(numbers(sentence) - numbers(passage))
        if extra:
            return "numbers not in the cited passage: " + ", ".join(extra)
    if words:
        overlaps = [(len(words & content_stems(u)), negations(u)) for u in _units(passage)]
        best = max(o for o, _ in overlaps)
        closest = [neg for o, neg in overlaps if o == best]
        own = negations(sentence)
        if best and own not in closest:
            if not own:
                return "drops the negation of the cited passage (" + ", ".join(sorted(closest[0])) + ")"
            return "negation not in the cited passage: " + ", ".join(sorted(own - closest[0]) or sorted(own))
    return None


def unsupported_reason(sentence: str, passage_texts: Sequence[str]) -> str | None:
    """None when one of the passages supports the sentence; otherwise why the first one does not."""
    if not passage_texts:
        return "no citation"
    problems = [support_problem(sentence, p) for p in passage_texts]
    return None if any(p is None for p in problems) else problems[0]


def sentence_supported(sentence: str, passage_texts: Sequence[str]) -> bool:
    """The one support test: the eval, the tests and the generative composer's verification call it."""
    return unsupported_reason(sentence, passage_texts) is None


def unresolved_markers(answer: Answer) -> list[int]:
    known = {c.n for c in answer.citations}
    return [n for claim in claims(answer.markdown) for n in claim.cites if n not in known]


def unsupported_claims(answer: Answer) -> list[Claim]:
    """Claims with no citation, or supported by none of the passages they cite."""
    passages = {c.n: c.text for c in answer.citations}
    return [
        claim
        for claim in claims(answer.markdown)
        if not sentence_supported(claim.text, [passages[n] for n in claim.cites if n in passages])
    ]
