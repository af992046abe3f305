"""Which words of a question carry its meaning, judged by how rare they are in the indexed corpus."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from guidechat.text import STOPWORDS, content_words, stems
from guidechat.types import Chunk

_NUMBER = re.compile(r"^[\d.,%]+[a-z]{0,2}$")  # 41.4, 5%, 10mg, 2nd

DocFrequency = Callable[[str], int]


def query_terms(text: str) -> list[str]:
    """Content words, with slashed and hyphenated compounds ('docetaxel/cyclophosphamide', 'low-dose') split
    as the BM25 index splits them, once each, in order; numbers left out."""
    out: list[str] = []
    for word in content_words(text):
        for part in re.split(r"[/\-]", word):
            part = part.strip("+.")
            if len(part) > 1 and part not in out and not _NUMBER.match(part) and part not in STOPWORDS:
                out.append(part)
    return out


class TermWeights:
    """Inverse document frequency over the indexed chunks; words the corpus never uses weigh the most."""

    def __init__(self, doc_frequency: DocFrequency, total: int) -> None:
        self._df = doc_frequency
        self._total = max(total, 1)
        self._cache: dict[str, float] = {}

    def idf(self, term: str) -> float:
        if term not in self._cache:
            df = self._df(term)
            self._cache[term] = math.log((self._total + 1) / (df + 1))
        return self._cache[term]

    def known(self, term: str) -> bool:
        return self._df(term) > 0

    def salient(self, text: str, limit: int) -> list[str]:
        """The rarest known terms of a text, in the order they appear."""
        terms = [t for t in query_terms(text) if self.known(t)]
        keep = set(sorted(terms, key=self.idf, reverse=True)[:limit])
        return [t for t in terms if t in keep]


def chunk_stems(chunk: Chunk) -> set[str]:
    """The stemmed words of a passage, its heading path and its document's title."""
    return stems(f"{chunk.doc.title} {' '.join(chunk.section)} {chunk.text}")
