"""Which retrieved passages are about what the question names. A question that names a subject a document is
titled for ("What are the symptoms of Childhood Ependymoma?") is answered from the documents that mention it: the
audience preference or a generic phrase ("symptoms of childhood …") can rank other documents' passages above the
only summary on the subject, and quoting those would answer about chordoma or GIST instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from guidechat.chat.terms import chunk_stems, query_terms
from guidechat.ingest.chunk import short_title
from guidechat.text import stem, stems
from guidechat.types import Passage


class SubjectWords:
    """The words of the index's document titles that name a subject: those few titles use ("ependymoma": 1 of
    the PDQ index's 399 titles, "breast" 7), not those many share ("treatment" 227, "childhood" 90)."""

    def __init__(self, titles: Iterable[str], max_share: float) -> None:
        titles = list(titles)
        self._words: dict[str, set[str]] = {}  # a title's stems, by title
        self._titles = Counter(word for title in titles for word in self.title_words(title))
        self._limit = max(2, int(max_share * len(titles)))  # a small index: a word two titles use still names

    def title_words(self, title: str) -> set[str]:
        if title not in self._words:
            self._words[title] = set(stems(short_title(title)))
        return self._words[title]

    def names(self, word_stem: str) -> bool:
        return 0 < self._titles[word_stem] <= self._limit

    def of(self, query: str, passages: Sequence[Passage]) -> set[str]:
        """Stems of the question's words that name a subject and that a retrieved document's title uses."""
        titled = set().union(*(self.title_words(p.chunk.doc.title) for p in passages)) if passages else set()
        return {stem(t) for t in query_terms(query) if stem(t) in titled and self.names(stem(t))}


def on_subject(query: str, passages: Sequence[Passage], subjects: SubjectWords, k: int) -> list[Passage]:
    """The first k passages (in ranked order) of the documents on the question's subject: those with a ranked
    passage whose title, headings or text hold a subject word. A document is kept or left whole: a passage of
    the summary the question is about need not repeat its subject ("pain" in a question on mucositis). The first
    k as they are when the question names no subject or no passage holds one."""
    words = subjects.of(query, passages)
    documents: set[str] = set()
    for p in passages if words else ():
        # the title first: most passages on the subject have it there, and it spares stemming their text
        if p.chunk.doc_id not in documents and (
            words & subjects.title_words(p.chunk.doc.title) or words & chunk_stems(p.chunk)
        ):
            documents.add(p.chunk.doc_id)
    kept = [p for p in passages if p.chunk.doc_id in documents]
    return kept[:k] if kept else list(passages[:k])
