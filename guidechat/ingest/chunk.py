"""Section-aware chunking: a chunk never crosses a section and fits the embedding window."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from guidechat.ingest.clean import clean_line, evidence_codes, is_dropped_line, plain_text
from guidechat.text import split_sentences
from guidechat.types import Chunk, Document

TokenCounter = Callable[[str], int]

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")  # closing #s are stripped in Python: the regex form backtracks
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^\s*+\|?\s*+:?-{3,}")  # possessive: a long run of blanks cannot backtrack


CHUNKER_VERSION = 3  # bump when cleaning or chunking output changes, so ingest re-chunks every file
MODEL_WINDOW = 256  # all-MiniLM-L6-v2 truncates past this many word pieces
SPECIAL_TOKENS = 3  # [CLS], [SEP] and the newline after the heading
# No piece is longer, whatever its token count (the longest PDQ chunk has 5,546); nothing longer is even counted,
# as counting cleans the text first, and cleaning a hostile megabyte costs seconds.
MAX_CHUNK_CHARS = 8000


def short_title(title: str) -> str:
    for suffix in ("–Health Professional Version", "–Patient Version", "(PDQ®)"):
        title = title.replace(suffix, "")
    return " ".join(title.split())


def passage_heading(title: str, section: tuple[str, ...]) -> str:
    """Where a passage sits, as one line: prefixed to what the models read."""
    return " > ".join((short_title(title), *section))


def heading_text(rest: str) -> str:
    """A heading's text without its optional closing #s ("## Fluids ##" -> "Fluids").

    Done with str methods: the equivalent regex, `(.*?)\\s*#*\\s*$`, takes cubic time on a long run of blanks."""
    return rest.rstrip().rstrip("#").rstrip()


def approximate_tokens(text: str) -> int:
    """A word-piece estimate for tests and tools that run without the model's tokenizer."""
    return int(len(text.split()) * 1.35) + 1


@dataclass
class Section:
    path: tuple[str, ...]
    blocks: list[str]  # paragraphs, list items and tables, cleaned


def _meta_key(doc: Document) -> str:
    m = doc.meta
    return "\x1f".join((m.title, m.url, m.publisher, m.audience or "", m.updated))


def document_id(doc: Document) -> str:
    key = doc.meta.source_path or doc.meta.url
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def chunk_id(doc_id: str, section: tuple[str, ...], text: str) -> str:
    return hashlib.sha256("\x1f".join((doc_id, *section, text)).encode()).hexdigest()[:20]


def iter_sections(doc: Document, skipped: tuple[str, ...] = ()) -> Iterator[Section]:
    """Split the body on headings; the document title heading itself is not part of the path."""
    skipped_lower = tuple(s.lower() for s in skipped)
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    title = doc.meta.title.strip().lower()

    def flush() -> Iterator[Section]:
        path = tuple(text for _, text in stack)
        if lines and not any(p.lower().startswith(skipped_lower) for p in path) if skipped_lower else lines:
            blocks = list(_blocks(lines, doc.meta.url))
            if blocks:
                yield Section(path=path, blocks=blocks)
        lines.clear()

    for raw in doc.markdown.splitlines():
        heading = _HEADING.match(raw)
        if heading:
            yield from flush()
            level = len(heading.group(1))
            text = heading_text(heading.group(2))[:4000]  # the longest PDQ heading has 234 characters
            text = plain_text(clean_line(text, doc.meta.url)).strip("* ")  # "*In vitro* studies"
            while stack and stack[-1][0] >= level:
                stack.pop()
            if not (level == 1 and not stack and text.lower() == title):
                stack.append((level, text))
        elif not is_dropped_line(raw):
            lines.append(raw)
    yield from flush()


def _blocks(lines: list[str], base_url: str) -> Iterator[str]:
    """Paragraphs (hard-wrapped lines joined), list items and whole tables."""
    current: list[str] = []
    kind = ""

    def emit() -> Iterator[str]:
        if current:
            joiner = "\n" if kind == "table" else " "
            block = joiner.join(current).strip()
            if kind != "table":  # cleaned once joined: a link or citation can be hard-wrapped across lines
                block = clean_line(block, base_url).strip()
            if block and not (kind == "table" and _is_empty_table(block)):
                yield block
        current.clear()

    for raw in lines:
        line = clean_line(raw, base_url)
        if not line.strip():
            yield from emit()
            kind = ""
            continue
        if _TABLE_ROW.match(line):
            if kind != "table":
                yield from emit()
                kind = "table"
            current.append(line.strip())
        elif _LIST_ITEM.match(line):
            yield from emit()
            kind = "item"
            current.append(raw.strip())
        else:
            if kind == "table":
                yield from emit()
                kind = ""
            if not kind:
                kind = "para"
            current.append(raw.strip())
    yield from emit()


def _is_empty_table(block: str) -> bool:
    cells = [c.strip() for row in block.splitlines() if not _TABLE_RULE.match(row) for c in row.split("|")]
    return not any(cells)


def chunk_document(
    doc: Document,
    count_tokens: TokenCounter = approximate_tokens,
    max_tokens: int = 200,
    overlap_sentences: int = 0,
    skipped_sections: tuple[str, ...] = (),
) -> list[Chunk]:
    """Chunks sized on what the embedding model reads: the heading line plus the plain text."""
    doc_id = document_id(doc)
    meta_key = _meta_key(doc)  # chunk ids change with the metadata stored beside them, so it is never stale
    chunks: list[Chunk] = []

    def counter(text: str) -> int:
        return count_tokens(plain_text(text))

    for section in iter_sections(doc, skipped_sections):
        heading_tokens = count_tokens(passage_heading(doc.meta.title, section.path))
        budget = max(64, min(max_tokens, MODEL_WINDOW - SPECIAL_TOKENS - heading_tokens))
        for text in pack_blocks(section.blocks, counter, budget, overlap_sentences):
            chunks.append(
                Chunk(
                    id=chunk_id(doc_id + meta_key, section.path, text),
                    doc_id=doc_id,
                    text=text,
                    doc=doc.meta,
                    section=section.path,
                    evidence=evidence_codes(text),
                    position=len(chunks),
                )
            )
    return _unique(chunks)


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    seen: set[str] = set()
    out = []
    for c in chunks:
        if c.id not in seen:
            seen.add(c.id)
            out.append(c)
    return out


def pack_blocks(
    blocks: list[str], count_tokens: TokenCounter, max_tokens: int, overlap_sentences: int = 0
) -> list[str]:
    """Greedily pack blocks into chunks of at most max_tokens; split only what cannot fit."""
    pieces: list[tuple[str, str]] = []  # (text, joiner before it)
    for block in blocks:
        if len(block) <= MAX_CHUNK_CHARS and count_tokens(block) <= max_tokens:
            pieces.append((block, "\n\n" if _TABLE_ROW.match(block) else "\n"))
        elif _TABLE_ROW.match(block):
            pieces += [(t, "\n\n") for t in _split_table(block, count_tokens, max_tokens)]
        else:
            first = True
            for sentence in _split_long(block, count_tokens, max_tokens):
                pieces.append((sentence, "\n" if first else " "))
                first = False

    pieces = [(part, joiner if i == 0 else " ") for text, joiner in pieces for i, part in enumerate(_by_chars(text))]

    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for text, joiner in pieces:
        n = count_tokens(text)
        too_long = sum(map(len, current)) + len(joiner) + len(text) > MAX_CHUNK_CHARS
        if current and (size + n > max_tokens or too_long):
            chunks.append("".join(current).strip())
            tail = _overlap(current, overlap_sentences, count_tokens, max_tokens - n)
            tail = tail if len(tail) + len(text) < MAX_CHUNK_CHARS else ""
            current, size = ([tail], count_tokens(tail)) if tail else ([], 0)
        current.append((joiner if current else "") + text)
        size += n
    if current:
        chunks.append("".join(current).strip())
    return [c for c in chunks if c]


def _by_chars(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Text cut to at most `limit` characters a piece, at a blank where there is one.

    Token counts cannot bound a piece alone: the model's tokenizer reads any word over 100 characters as one
    unknown token, so a megabyte without blanks "fits" the window, and would be stored and scanned whole."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    return [p for p in [*parts, text] if p]


def _overlap(current: list[str], n: int, count_tokens: TokenCounter, budget: int) -> str:
    if n <= 0 or _TABLE_ROW.match(current[-1].strip()):
        return ""
    tail = " ".join(split_sentences(current[-1].strip())[-n:])
    return tail if count_tokens(tail) <= budget // 2 else ""


def _split_long(block: str, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    out: list[str] = []
    for sentence in split_sentences(block):
        if len(sentence) <= MAX_CHUNK_CHARS and count_tokens(sentence) <= max_tokens:
            out.append(sentence)
            continue
        out += _cut_on_words(sentence.split(), count_tokens, max_tokens)
    return out


def _cut_on_words(words: list[str], count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """A sentence longer than the window, cut into the longest word runs that fit (at least one word each).

    Token counts grow with the run, so each cut is found by galloping from the last run's length, then
    bisecting: a handful of counts per cut instead of one per word (a 2 MB line: 25 s instead of 94 s)."""
    out: list[str] = []
    start, guess = 0, 1
    while start < len(words):
        remaining = len(words) - start

        def fits(n: int, start: int = start) -> bool:
            return count_tokens(" ".join(words[start : start + n])) <= max_tokens

        # the first word always goes in, even when it alone is too long; the last run's length is a good guess
        good, bad, step = 1, remaining + 1, 1
        guess = min(guess, remaining)
        if guess > 1 and not fits(guess):
            bad = guess
            while bad - step > 1 and not fits(bad - step):  # gallop down from the guess
                bad, step = bad - step, step * 2
            good = max(1, bad - step)
        elif guess > 1:
            good = guess
        while good < remaining and bad == remaining + 1:  # gallop up
            probe = min(good + step, remaining)
            if not fits(probe):
                bad = probe
                break
            good, step = probe, step * 2
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if fits(mid) else (good, mid)
        out.append(" ".join(words[start : start + good]))
        start, guess = start + good, good
    return out


def _split_table(block: str, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """Rows in groups that fit, each group led by the header so it still reads as a table."""
    rows = block.splitlines()
    header = rows[:2] if len(rows) > 1 and _TABLE_RULE.match(rows[1]) else rows[:1]
    body = rows[len(header) :]
    out: list[str] = []
    group: list[str] = []
    for row in body:
        candidate = "\n".join([*header, *group, row])
        if group and count_tokens(candidate) > max_tokens:
            out.append("\n".join([*header, *group]))
            group = []
        group.append(row)
    if group:
        out.append("\n".join([*header, *group]))
    return out
