"""PDQ levels of evidence: which codes a quoted sentence carries, and what each code means according to the
corpus's own "Levels of Evidence" summaries, read from the index at run time (no definition is written here).

PDQ tags a finding at the end of its paragraph, "... survival rate was 53%. (Level of evidence C3)", so a sentence
carries the codes of the paragraph it was quoted from (a close paraphrase: the paragraph sharing most words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from guidechat.ingest.clean import evidence_codes, plain_text
from guidechat.text import content_words
from guidechat.types import Chunk, LegendEntry

# "- **A1 Evidence.** Randomized controlled clinical trial ..." (the treatment summary's "Summation" list)
_CODE_ITEM = re.compile(r"^\s*(?:[-*+]\s+)?\*\*([A-D][1-4]?) Evidence\.?\*\*\s*(.+)$")
# "1. **Prospective, randomized, controlled trials ...**" under a "... Levels of Evidence" heading: the supportive
# care summaries cite these categories as "Level of evidence: I" ... "IV"
_NUMBERED_ITEM = re.compile(r"^\s*(\d)\.\s+\*\*(.+?)\*\*\s*$")
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_LEGEND_TITLE = re.compile(r"\blevels? of evidence\b", re.I)


def is_legend_document(title: str, url: str) -> bool:
    """A PDQ levels-of-evidence summary (by title, or by its cancer.gov address)."""
    return bool(_LEGEND_TITLE.search(title)) or "/levels-evidence/" in url


def legend_from_chunks(chunks: Iterable[Chunk]) -> dict[str, LegendEntry]:
    """Each code defined in the chunks of levels-of-evidence summaries; the first definition of a code wins
    (chunks in document order)."""
    legend: dict[str, LegendEntry] = {}
    for chunk in sorted(chunks, key=lambda c: (c.doc.url, c.position)):
        numbered = any("levels of evidence" in h.lower() for h in chunk.section)
        for line in chunk.text.splitlines():
            found = _CODE_ITEM.match(line)
            if found:
                code, definition = found.group(1), found.group(2)
            elif numbered and (item := _NUMBERED_ITEM.match(line)) and int(item.group(1)) in _ROMAN:
                code, definition = _ROMAN[int(item.group(1))], item.group(2)
            else:
                continue
            definition = plain_text(definition).strip()
            if code not in legend and definition:
                legend[code] = LegendEntry(code, definition, chunk.doc.title, chunk.doc.url)
    return legend


def _paragraphs(passage: str) -> list[str]:
    return [line for line in passage.splitlines() if line.strip()]


def sentence_evidence(sentence: str, passages: Sequence[str]) -> tuple[str, ...]:
    """The level-of-evidence codes of the paragraph a sentence was quoted from, in the passages it cites."""
    normalised = " ".join(sentence.split())
    codes: list[str] = []
    for passage in passages:
        paragraphs = _paragraphs(passage)
        home = [p for p in paragraphs if normalised in " ".join(p.split())]
        if not home and paragraphs:  # a paraphrase: the paragraph with the most of its words
            words = {w.lower() for w in content_words(sentence)}
            overlap = [(len(words & {w.lower() for w in content_words(p)}), p) for p in paragraphs]
            best = max(o for o, _ in overlap)
            home = [p for o, p in overlap if o == best and best >= max(2, len(words) // 2)][:1]
        for paragraph in home:
            codes += [c for c in evidence_codes(paragraph) if c not in codes]
    return tuple(codes)
