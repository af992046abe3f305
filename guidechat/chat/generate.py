"""The generative composer: a language model writes the answer from the numbered passages, then every sentence
is verified (guidechat/chat/verify.py) and the unsupported ones are removed before anyone sees the answer.

Verification, sentence by sentence:
- [n] markers are parsed ("[1, 2]" and "[Passage 1]" too); numbers that are not passages are dropped;
- a sentence with no marker left, a repeat, or one no cited passage supports is removed (reason recorded);
- a kept sentence keeps only the markers of the passages that support it, renumbered 1..m in order.
When fewer than `min_sentences` survive, or the model says the passages do not answer, the pipeline uses the
extractive answer instead and says why in the answer's note.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from guidechat.chat.compose import citation_for
from guidechat.chat.prompts import NOT_ANSWERED, SECTION_LABELS, answer_prompt
from guidechat.chat.verify import line_claims, normalise, support_problem
from guidechat.llm.base import ChatModel
from guidechat.types import Audience, Citation, Draft, Passage, Removed

_BRACKETED_NUMBERS = re.compile(r"\[\s*(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\s*\](?!\()", re.I)
_LEADING = re.compile(r"^\s*(?:#{1,6}\s*|[-*+]\s+|\d+[.)]\s+)+")
_BOLD_LABEL = re.compile(r"^(?:\*\*|__)(?P<label>[^*_]{2,60}?)(?:\*\*|__)\s*:?\s*(?P<rest>.*)$")
_PLAIN_LABEL = re.compile(r"^(?P<label>[A-Za-z][A-Za-z ,'/-]{1,50}):\s*(?P<rest>.*)$")
# Heading wordings a model may use for each part of the layout (both audiences' labels and near variants).
_SECTION_WORDS = (
    re.compile(r"bottom line|in short|summary|short answer", re.I),
    re.compile(r"when (?:it is |it's )?recommended|when it may help|recommended|indications?", re.I),
    re.compile(r"not (?:recommended|advised)|when not|avoid|contraindicat", re.I),
    re.compile(r"alternatives?|other options", re.I),
    re.compile(r"pitfalls?|watch|cautions?|warnings?", re.I),
)
_NOT_ANSWERED = re.compile(r"\bnot in (?:the )?sources\b", re.I)
BOTTOM_LINE_SENTENCES = 2  # more first-part sentences go to the last part ("Details")


@dataclass(frozen=True)
class Generation:
    """The verified outcome of one generation."""

    markdown: str  # the verified answer, [n] renumbered; "" when nothing survived
    citations: tuple[Citation, ...]
    generated: int  # sentences the model wrote
    removed: tuple[Removed, ...]
    not_answered: bool = False  # the model said the passages do not answer

    @property
    def kept(self) -> int:
        return self.generated - sum(1 for r in self.removed if r.kind == "sentence")


@dataclass(frozen=True)
class _Sentence:
    part: int
    text: str
    cites: tuple[int, ...]  # passage numbers as given to the model (1-based)


class GenerativeComposer:
    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def generate(
        self, query: str, passages: Sequence[Passage], audience: Audience
    ) -> Generator[Draft, None, Generation]:
        """Yield the model's text as it grows; return the verified Generation. Raises LLMUnavailable."""
        prompt = answer_prompt(query, passages, audience)
        text = ""
        for piece in self.model.stream(prompt.system, prompt.user):
            text += piece
            yield Draft(text)
        return verify_generated(text, passages, audience)


def verify_generated(text: str, passages: Sequence[Passage], audience: Audience) -> Generation:
    """Parse the model's answer, keep what its cited passages support, and render it in the answer layout."""
    if _NOT_ANSWERED.search(text) and len(text.strip()) < 3 * len(NOT_ANSWERED):
        return Generation("", (), 0, (), not_answered=True)
    kept: list[_Sentence] = []
    removed: list[Removed] = []
    seen: set[str] = set()
    sentences = parse_sentences(text)
    for s in sentences:
        valid = tuple(dict.fromkeys(n for n in s.cites if 1 <= n <= len(passages)))
        bad = [n for n in s.cites if not 1 <= n <= len(passages)]
        key = normalise(s.text).lower()
        reason = None
        if key in seen:
            reason = "repeats an earlier sentence"
        elif not s.cites:
            reason = "no citation"
        elif not valid:
            reason = "cites " + ", ".join(f"[{n}]" for n in bad) + ", which is not one of the passages"
        else:
            problems = {n: support_problem(s.text, passages[n - 1].chunk.text) for n in valid}
            supporting = tuple(n for n, p in problems.items() if p is None)
            if supporting:
                kept.append(_Sentence(s.part, s.text, supporting))
                seen.add(key)
                removed += [Removed(s.text, f"dropped [{n}]: not one of the passages", "marker") for n in bad]
                continue
            reason = f"[{valid[0]}] does not support it: {problems[valid[0]]}"
        removed.append(Removed(s.text, reason))
    markdown, citations = _render(kept, passages, audience)
    return Generation(markdown, citations, len(sentences), tuple(removed))


def parse_sentences(text: str) -> list[_Sentence]:
    """The model's sentences with their markers and the part of the layout they stand under."""
    out: list[_Sentence] = []
    part = 0
    for raw in text.splitlines():
        line = _LEADING.sub("", raw.strip())
        if not line:
            continue
        label, rest = _split_label(line)
        if label is not None:
            part = _part_of(label, part)
            line = rest
        line = _BRACKETED_NUMBERS.sub(lambda m: " ".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), line)
        for claim in line_claims(line):
            text = claim.text.strip("*_ ").strip()
            if text and re.search(r"[A-Za-z]", text):
                out.append(_Sentence(part, text, claim.cites))
    return out


def _split_label(line: str) -> tuple[str | None, str]:
    """A heading ("**Pitfalls**", "When recommended:", "Bottom line: text") and what follows it on the line."""
    for pattern in (_BOLD_LABEL, _PLAIN_LABEL):
        m = pattern.match(line)
        if not m or not any(w.search(m.group("label")) for w in _SECTION_WORDS) or len(m.group("label").split()) > 6:
            continue
        if pattern is _BOLD_LABEL and not m.group("label").rstrip().endswith(":") and m.group("rest")[:1].islower():
            continue  # "**Surgery is not recommended** in pregnancy" is a sentence, not a heading
        return m.group("label"), m.group("rest")
    short = len(line.split()) <= 5 and not line.rstrip("*_ ").endswith(".")
    if short and not re.search(r"\[\d+\]", line) and any(w.search(line) for w in _SECTION_WORDS):
        return line.strip("*_:# "), ""
    return None, line


def _part_of(label: str, current: int) -> int:
    # "not recommended" must win over "recommended": test the parts from the most specific
    for index in (2, 4, 3, 1, 0):
        if _SECTION_WORDS[index].search(label):
            return index
    return current


def _render(
    kept: list[_Sentence], passages: Sequence[Passage], audience: Audience
) -> tuple[str, tuple[Citation, ...]]:
    if not kept:
        return "", ()
    labels = SECTION_LABELS[audience]
    details = len(labels) - 1
    parts: dict[int, list[_Sentence]] = {}
    for s in kept:
        parts.setdefault(s.part, []).append(s)
    bottom = parts.pop(0, [])
    if not bottom:  # the model skipped the bottom line: its first sentence leads
        first = kept[0]
        parts[first.part].remove(first)
        bottom = [first]
    parts.setdefault(details, [])[:0] = bottom[BOTTOM_LINE_SENTENCES:]
    bottom = bottom[:BOTTOM_LINE_SENTENCES]
    order = [*bottom] + [s for p in sorted(parts) for s in parts[p]]
    numbers: dict[int, int] = {}
    for s in order:
        for n in s.cites:
            numbers.setdefault(n, len(numbers) + 1)

    def cite(s: _Sentence) -> str:
        return s.text + " " + " ".join(f"[{numbers[n]}]" for n in s.cites)

    blocks = [f"**{labels[0]}:** " + " ".join(cite(s) for s in bottom)]
    for p in sorted(parts):
        if parts[p]:
            blocks.append(f"**{labels[p]}**\n\n" + "\n".join(f"- {cite(s)}" for s in parts[p]))
    citations = tuple(citation_for(new, passages[old - 1]) for old, new in numbers.items())
    return "\n\n".join(blocks), citations
