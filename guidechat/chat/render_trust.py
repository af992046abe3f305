"""How the trust features (#7) read in an answer: a level-of-evidence badge (`LoE C3`) after each sentence whose
paragraph carries one, documents that differ side by side (their sentences taken out of the blended body), a note
where a newer document was preferred, a flag on sources older than the configured age, and a footnote defining the
codes shown. Plain markdown, no HTML: the chat renders it inert (guidechat/chat/safe_markdown.py). Everything taken
from a document (sentences, titles, definitions) is escaped: it is shown as text, never markup.
"""

from __future__ import annotations

import datetime as dt
import re

from guidechat.chat.evidence import sentence_evidence
from guidechat.chat.recency import age_in_years
from guidechat.chat.safe_markdown import escape_text, link
from guidechat.chat.verify import claims
from guidechat.ingest.chunk import short_title
from guidechat.types import Answer, Citation, Disagreement, Side

_MARKER_GROUP = re.compile(r"(?:\s*\[\d+\](?!\())+")
_BULLET = re.compile(r"^\s*-\s+")
_LABEL = re.compile(r"^\*\*[^*]+\*\*:?\s*$")  # a group label on its own line
DIFFER_BOTTOM = "The cited guidelines differ on this point; they are compared side by side below."


def text(value: str) -> str:
    """Document text shown as it is (no emphasis, link or HTML), safe in a table cell too."""
    return escape_text(value).replace("|", "\\|")


def linked(title: str, url: str) -> str:
    return link(title, url).replace("|", "\\|")


def badge(code: str) -> str:
    return f"`LoE {code}`"


def sentence_badges(answer: Answer) -> list[tuple[str, ...]]:
    """For each cited sentence of the body, in order: the level-of-evidence codes of its paragraph."""
    passages = {c.n: c.text for c in answer.citations}
    return [
        sentence_evidence(claim.text, [passages[n] for n in claim.cites if n in passages])
        for claim in claims(answer.markdown)
        if claim.cites
    ]


def decorate_body(body: str, answer: Answer) -> str:
    """The rendered body (line for line the answer's markdown, maybe escaped) with a badge after each sentence's
    markers, and with the sentences shown side by side below taken out of the blend."""
    raw_lines, shown = answer.markdown.strip().split("\n"), body.strip().split("\n")
    if len(raw_lines) != len(shown):
        return body
    codes = iter(sentence_badges(answer))
    sides = {" ".join(s.text.split()) for d in answer.trust.disagreements for s in d.sides}
    out: list[str] = []
    for raw, line in zip(raw_lines, shown, strict=True):
        line_claims = [c for c in claims(raw) if c.cites]
        line_codes = [next(codes, ()) for _ in line_claims]
        if sides and line_claims and all(" ".join(c.text.split()) in sides for c in line_claims):
            if _BULLET.match(raw):
                continue
            label = re.match(r"^\*\*[^*]+\*\*:?\s*", raw)
            out.append(f"{label.group(0) if label else ''}{DIFFER_BOTTOM}")
            continue
        groups = list(_MARKER_GROUP.finditer(line))
        if len(groups) == len(line_codes):
            for match, found in reversed(list(zip(groups, line_codes, strict=True))):
                if found:
                    added = " " + " ".join(badge(c) for c in found)
                    line = line[: match.end()] + added + line[match.end():]
        out.append(line)
    return "\n".join(_without_empty_groups(out))


def _without_empty_groups(lines: list[str]) -> list[str]:
    """Drop a group label whose bullets were all moved out, and the blank lines left behind."""
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _LABEL.match(line.strip()):
            following = next((nxt for nxt in lines[i + 1:] if nxt.strip()), "")
            if not _BULLET.match(following):
                continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def side_by_side(d: Disagreement) -> str:
    """One column per document (title, date), its sentences on this point below, each with what it recommends."""
    columns: dict[str, list[Side]] = {}
    for side in d.sides:
        columns.setdefault(side.url, []).append(side)
    heads = []
    for sides in columns.values():
        first = sides[0]
        updated = f", updated {first.updated}" if first.updated else ""
        heads.append(linked(short_title(first.title), first.url) + updated)
    rows = []
    for r in range(max(len(sides) for sides in columns.values())):
        cells = [f"{text(sides[r].text)} [{sides[r].n}] *({sides[r].stance})*" if r < len(sides) else ""
                 for sides in columns.values()]
        rows.append("| " + " | ".join(cells) + " |")
    table = ["| " + " | ".join(heads) + " |", "| " + " | ".join("---" for _ in heads) + " |", *rows]
    return f"**The sources differ:** {d.reason}.\n\n" + "\n".join(table)


def stale_lines(citations: list[Citation], years: int, today: dt.date) -> list[str]:
    """One line per old document, naming the citations that quote it."""
    by_doc: dict[str, list[Citation]] = {}
    for c in citations:
        by_doc.setdefault(c.url, []).append(c)
    lines = []
    for cited in by_doc.values():
        c = cited[0]
        age = age_in_years(c.updated, today)
        numbers = ", ".join(f"[{x.n}]" for x in cited)
        ago = f", {_years(age)} ago" if age is not None else ""
        lines.append(f"- {numbers} {text(short_title(c.title))}: last updated {c.updated}{ago} (flagged after "
                     f"{_years(years)}); check for newer guidance.")
    return lines


def _years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def trust_blocks(answer: Answer, today: dt.date | None = None) -> list[str]:
    """What goes between the body and the references."""
    today = today or dt.date.today()
    trust = answer.trust
    blocks = [side_by_side(d) for d in trust.disagreements]
    for p in trust.preferred:
        blocks.append(
            f"**Newer source preferred:** {linked(short_title(p.dropped_title), p.dropped_url)} (updated "
            f"{p.dropped_updated}) says the same as [{p.kept_n}] {text(short_title(p.kept_title))} (updated "
            f"{p.kept_updated}); the newer one is quoted."
        )
    stale = [c for c in answer.citations if c.stale]
    if stale:
        lines = stale_lines(stale, trust.stale_after_years, today)
        flag = "**⚠ Older sources:**" if len(lines) > 1 else "**⚠ Older source:**"
        blocks.append(flag + "\n\n" + "\n".join(lines))
    return blocks


def reference_marks(c: Citation) -> str:
    """After a reference's date: its levels of evidence and whether it is old."""
    marks = []
    if c.evidence:
        marks.append("levels of evidence " + ", ".join(c.evidence))
    if c.stale:
        marks.append("⚠ older source")
    return f" — {'; '.join(marks)}" if marks else ""


def legend_block(answer: Answer) -> str:
    if not answer.trust.legend:
        return ""
    lines = ["**Levels of evidence** (the badges above)", ""]
    for e in answer.trust.legend:
        lines.append(f"- `LoE {e.code}`: {text(e.definition)} ({linked(short_title(e.source_title), e.source_url)})")
    return "\n".join(lines)
