"""Follow-up questions offered under an answer: the sections next to the cited ones, in the cited documents.

For a cited section "A > B > C", the neighbours are its siblings "A > B > x" (nearest in the document first); a
section without siblings offers its parent's ("A > y"). Each becomes a standalone question naming the document, so
that asking it retrieves that section without leaning on the conversation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from guidechat.ingest.chunk import short_title
from guidechat.text import content_words
from guidechat.types import Answer, Chunk, Passage

Section = tuple[str, ...]
OUTLINES_CACHED = 256


def neighbours(section: Section, outline: Sequence[Section]) -> list[Section]:
    """Sections beside `section` in a document's outline (its sections in order), nearest first."""
    here = outline.index(section) if section in outline else 0
    for depth in range(len(section), 0, -1):
        parent, own = section[: depth - 1], section[depth - 1]
        found: dict[Section, int] = {}
        for index, other in enumerate(outline):
            if len(other) >= depth and other[: depth - 1] == parent and other[depth - 1] != own:
                found.setdefault(other[:depth], index)
        if found:
            return sorted(found, key=lambda s: abs(found[s] - here))
    return []


def question_for(heading: str, title: str) -> str:
    """A heading as a question that stands on its own: it names the document's topic unless the heading does."""
    heading = heading.strip()
    if heading.endswith("?"):
        return heading
    topic = short_title(title)
    topic_words = set(content_words(topic))
    if topic_words and len(topic_words & set(content_words(heading))) >= 0.6 * len(topic_words):
        return f"What does the guidance say about “{heading}”?"
    return f"What does the guidance on {topic} say about “{heading}”?"


class Suggester:
    def __init__(
        self,
        outline_ids: Callable[[str], Sequence[str]],
        get_chunks: Callable[[list[str]], dict[str, Chunk]],
        limit: int = 3,
    ) -> None:
        """`outline_ids` gives a document's chunk ids by its manifest key (source path); `get_chunks` fetches them."""
        self.outline_ids = outline_ids
        self.get_chunks = get_chunks
        self.limit = limit
        self._outlines: OrderedDict[tuple[str, ...], list[Section]] = OrderedDict()
        self._lock = threading.Lock()  # the server answers several questions at once

    def clear(self) -> None:
        with self._lock:
            self._outlines.clear()

    def outline(self, key: str) -> list[Section]:
        """The document's sections in order (cached by its chunk ids, so a re-ingested document is read again)."""
        ids = tuple(self.outline_ids(key))
        with self._lock:
            cached = self._outlines.get(ids)
        if cached is None:
            chunks = sorted(self.get_chunks(list(ids)).values(), key=lambda c: c.position)
            cached = list(dict.fromkeys(c.section for c in chunks if c.section))
            with self._lock:
                self._outlines[ids] = cached
                while len(self._outlines) > OUTLINES_CACHED:
                    self._outlines.popitem(last=False)
        return cached

    def suggest(self, answer: Answer, passages: Sequence[Passage]) -> tuple[str, ...]:
        if answer.abstained or not answer.citations or self.limit <= 0:
            return ()
        chunks = {p.chunk.id: p.chunk for p in passages}
        cited = [chunks[c.chunk_id] for c in answer.citations if c.chunk_id in chunks]
        # a cited section, or one holding a cited section, is not a neighbour to offer
        taken = {(c.doc.source_path, c.section[:depth]) for c in cited for depth in range(1, len(c.section) + 1)}
        per_doc: list[list[str]] = []
        seen_docs: set[str] = set()
        for chunk in cited:
            if chunk.doc.source_path in seen_docs or not chunk.section:
                continue
            seen_docs.add(chunk.doc.source_path)
            near = [s for s in neighbours(chunk.section, self.outline(chunk.doc.source_path))
                    if (chunk.doc.source_path, s) not in taken]
            per_doc.append([question_for(s[-1], chunk.doc.title) for s in near])
        out: list[str] = []
        for round_ in range(max((len(q) for q in per_doc), default=0)):  # one per document in turn
            for questions in per_doc:
                if round_ < len(questions) and questions[round_] not in out:
                    out.append(questions[round_])
        return tuple(out[: self.limit])
