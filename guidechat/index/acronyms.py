"""Spelling out a question's acronyms the way the indexed guidelines define them ("acute lymphoblastic leukemia
(ALL)"), so that the embedding model, which reads "ALL" as the word "all", and BM25 see the disease's name."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from guidechat.index.bm25 import ACRONYM

_WORD = re.compile(r"[A-Za-z0-9]+")


def long_form(acronym: str, texts: Iterable[str]) -> str | None:
    """The long form the texts most often give right before "(ACRONYM)": as many words as the acronym has
    letters, their initials spelling it (hyphenated words count as several: "non-small cell lung cancer")."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    if len(letters) < 2:
        return None
    before = re.compile(r"([A-Za-z][A-Za-z0-9 ,'-]{2,120}?)\s*\(" + re.escape(acronym) + r"[);,]")
    found: Counter[str] = Counter()
    for text in texts:
        for match in before.finditer(text):
            words = _WORD.findall(match.group(1))[-len(letters):]
            if len(words) == len(letters) and [w[0].lower() for w in words] == letters:
                found[" ".join(w.lower() for w in words)] += 1
    return found.most_common(1)[0][0] if found else None


def spelled_out(question: str, definitions: Callable[[str], str | None]) -> str:
    """The question with each defined acronym followed by its long form in brackets, once."""
    seen: set[str] = set()

    def expand(match: re.Match[str]) -> str:
        acronym = match.group(0)
        if acronym in seen:
            return acronym
        seen.add(acronym)
        meaning = definitions(acronym)
        if meaning is None or meaning in question.lower():
            return acronym
        return f"{acronym} ({meaning})"

    return ACRONYM.sub(expand, question)
