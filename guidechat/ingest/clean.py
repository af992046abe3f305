"""Turn published PDQ-style markdown into what a reader sees."""

from __future__ import annotations

import re
from urllib.parse import urljoin

# Hostile text must not make these backtrack: no scan runs past the next "[" (the next link or anchor starts
# there), a space run is matched from its start only, and an emphasis span is at most 1000 characters.
# [[3](#cit/section_2.3)], [[11](#cit/section_1.11)-[13](#cit/section_1.13)], [[2](..),[3](..)]
_CITATION_GROUP = re.compile(r"\s?\[\[\d+\]\(#cit/[^)\[]*\)(?:\s*[,\-–]\s*\[\d+\]\(#cit/[^)\[]*\))*\]")
# studies[2](#cit/il.2): a bare anchor, without the outer brackets (a few summaries)
_CITATION_BARE = re.compile(r"\s?\[\d+\]\(#cit/[^)\[]*\)")
# [Level of evidence [A1](url)], [Level of evidence [A1](url) and [A3](url)] (malformed, in a few summaries)
_EVIDENCE_NESTED = re.compile(
    r"\[Level of evidence \[([^\]\[]+)\]\([^)\[]*\)((?:\s*(?:,|and)\s*\[[^\]\[]+\]\([^)\[]*\))*)\]?"
)
_NESTED_CODE = re.compile(r"\[([^\]]+)\]\(")
# [[Level of evidence B1](url)], [Level of evidence: I](url), [[Level of evidence: II]](url)
_EVIDENCE_LINK = re.compile(r"\[?\[Level of evidence:?\s*+([^\]\[]+)\]\]?\([^)\[]*\)\]?")
_EVIDENCE_TEXT = re.compile(r"\(Level of evidence ([A-Za-z0-9]+(?:, ?[A-Za-z0-9]+)*)\)")
_GO_TO_VERSION = re.compile(r"^\s*\[Go to (?:Patient|Health Professional) Version\]\([^)]*\)\s*$", re.I)
_IMAGE = re.compile(r"!\[(?:[^\]!]|!(?!\[))*\]\((?:[^)!]|!(?!\[))*\)")
# [text](href "title"); the text may hold one level of brackets: [tumor necrosis factor [TNF]](/...)
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\(\s*([^)\s\[\]]+)(?:\s+\"[^\"\[]*\")?\s*\)")
_OMITTED = re.compile(r"^\s*\[(?:Table|Figure) omitted:[^\]]*\]\s*$", re.I)
_SPACE_BEFORE_PUNCT = re.compile(r"(?<![ \t])[ \t]+([.,;:])(?=\s|$)")
_GLUED_EVIDENCE = re.compile(r"(?<=\S)\(Level of evidence")
_MULTI_SPACE = re.compile(r"[ \t]{2,}")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.{1,1000}?)(?<=\S)\1")


def clean_line(line: str, base_url: str) -> str:
    """One line of markdown without citation anchors, images, and with absolute links."""
    line = _CITATION_GROUP.sub("", line)
    line = _CITATION_BARE.sub("", line)
    line = _EVIDENCE_NESTED.sub(_nested_evidence, line)
    line = _EVIDENCE_LINK.sub(r"(Level of evidence \1)", line)
    line = _IMAGE.sub("", line)
    line = _LINK.sub(lambda m: _absolute_link(m.group(1), m.group(2), base_url), line)
    line = _SPACE_BEFORE_PUNCT.sub(r"\1", line)
    line = _GLUED_EVIDENCE.sub(" (Level of evidence", line)  # "improved.(Level…" reads as one word
    return _MULTI_SPACE.sub(" ", line).rstrip()


def _nested_evidence(match: re.Match[str]) -> str:
    codes = [match.group(1), *_NESTED_CODE.findall(match.group(2))]
    return f"(Level of evidence {', '.join(codes)})"


def is_dropped_line(line: str) -> bool:
    """Navigation and placeholders that carry no guidance."""
    return bool(_GO_TO_VERSION.match(line) or _OMITTED.match(line))


def _absolute_link(text: str, href: str, base_url: str) -> str:
    if href.startswith(("http://", "https://", "mailto:")):
        return f"[{text}]({href})"
    if base_url.startswith(("http://", "https://")):
        return f"[{text}]({urljoin(base_url, href)})"
    return text  # a relative link in a local file has no page to point at


def evidence_codes(text: str) -> tuple[str, ...]:
    """The PDQ level-of-evidence codes cited in a text, in order, once each."""
    codes: list[str] = []
    for match in _EVIDENCE_TEXT.finditer(text):
        for code in re.split(r",\s*", match.group(1)):
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)


def plain_text(markdown: str) -> str:
    """Markdown as words only, for the embedding model and BM25."""
    text = _LINK.sub(r"\1", markdown)
    text = _EMPHASIS.sub(r"\2", text)
    text = re.sub(r"^[ \t]*(?:[-*]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"^\|?[ \t]*-{3,}.*$", "", text, flags=re.M)
    text = text.replace("|", " ")
    return _MULTI_SPACE.sub(" ", text).strip()
