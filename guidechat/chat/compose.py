"""The extractive composer: an answer made only of sentences copied from the retrieved passages."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from guidechat.chat.terms import TermWeights, query_terms
from guidechat.ingest.clean import plain_text
from guidechat.text import split_sentences, stem, stems
from guidechat.types import Audience, Citation, Passage

Vector = list[float]
Matrix = NDArray[np.float32]

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_CAPTION = re.compile(r"^(?:\*\*)?(?:Table|Figure|Fig\.|Chart)\s+\d+[A-Za-z]?[.:]", re.I)  # "Table 1. Standard ..."
_LINK_TEXT = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NAVIGATION = re.compile(r"\b(?:is|are) also available\b|^(?:Learn|Read) more about\b", re.I)
_SEE_ALSO = re.compile(r"^(?:For more information|For information|See the|To learn more)", re.I)
_AGAINST = re.compile(
    r"\b(?:not recommended|is not advised|should not|should be avoided|avoid(?:ed|ing)?|contraindicated|"
    r"no (?:significant )?(?:benefit|improvement|difference)|did not (?:improve|show|reduce|increase|lower)|"
    r"(?:does|do|did|would|will|may|might|could) not (?:improve|reduce|lower|decrease|prevent|help|prolong|"
    r"benefit|change)|not (?:been )?shown to|insufficient evidence|not routinely|"
    r"no evidence|unproven|harm(?:s|ful)?)\b",
    re.I,
)
_RECOMMENDS = re.compile(
    r"\b(?:recommend(?:s|ed|ation)?|should(?! not)|is indicated|are indicated|standard (?:of care|treatment|"
    r"therapy|approach)|treatment options?|preferred|is advised|consider(?:ed)?|guidelines?|is used to|"
    r"may be (?:offered|used|given|treated)|is an option|first-line|approved)\b",
    re.I,
)

HEADINGS: dict[Audience, tuple[str, str, str, str]] = {
    "clinician": ("Bottom line", "What the guidance recommends", "Where it advises against", "Evidence"),
    "patient": ("In short", "What is recommended", "What is not recommended", "More detail"),
}


@dataclass(frozen=True)
class Candidate:
    text: str  # verbatim from the passage
    passage: int  # index into the passages
    order: int  # position within the passage
    score: float = 0.0


def sentence_units(text: str) -> list[str]:
    """The sentences of a passage as they can be quoted: list markers off, tables and their captions left out."""
    units: list[str] = []
    for block in text.split("\n"):
        block = block.strip()
        if not block or block.startswith("|"):
            continue
        block = _LIST_MARKER.sub("", block)
        if _CAPTION.match(block):
            continue
        units.extend(split_sentences(block))
    return units


def _quotable(sentence: str, read: str) -> bool:
    """`read`: the sentence as plain words (plain_text)."""
    words = sentence.split()
    return (5 <= len(words) <= 90 and not sentence.rstrip().endswith(":") and not _SEE_ALSO.match(sentence)
            and not _navigation(sentence, read))


def _navigation(sentence: str, read: str) -> bool:
    """A pointer to other pages, not a claim: "Other PDQ summaries on [A] and [B] are also available.", "Learn more
    about it at [B].", or nothing but a link ("[Drugs Approved for Chronic Lymphocytic Leukemia](…)"). Sentences
    with many glossary links (patient summaries link most medical words) stay: only 90% link text or more counts."""
    if _NAVIGATION.search(read):
        return True
    linked = sum(len(m.group(1).split()) for m in _LINK_TEXT.finditer(sentence))
    return linked >= 3 and linked >= 0.9 * len(read.split())


def lexical_candidates(query: str, passages: Sequence[Passage], weights: TermWeights) -> list[Candidate]:
    """Every quotable sentence of the passages, in order, scored by the share of the query's IDF-weighted terms it
    holds (its words as read: a link's address does not count)."""
    terms = [(stem(t), weights.idf(t)) for t in query_terms(query)]
    total = sum(w for _, w in terms) or 1.0
    candidates: list[Candidate] = []
    for p_index, passage in enumerate(passages):
        for order, sentence in enumerate(sentence_units(passage.chunk.text)):
            read = plain_text(sentence)
            if _quotable(sentence, read):
                found = stems(read)
                candidates.append(Candidate(sentence, p_index, order, sum(w for t, w in terms if t in found) / total))
    return candidates


def relevance(cosine: float, lexical: float) -> float:
    """How well a sentence answers: its meaning's closeness to the question, and the question's rare words it holds."""
    return 0.6 * cosine + 0.4 * lexical


def _cosines(query: Vector, rows: Matrix) -> list[float]:
    q = np.asarray(query, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1) * float(np.linalg.norm(q))
    dots = rows @ q
    return [float(d / n) if n else 0.0 for d, n in zip(dots, norms, strict=True)]


class ExtractiveComposer:
    def __init__(
        self,
        weights: TermWeights,
        embed_query: Callable[[str], Vector],
        embed_sentences: Callable[[list[str]], Matrix],
        max_sentences: int = 6,
        max_per_passage: int = 3,
        min_score: float = 0.3,
        shortlist: int = 16,
    ) -> None:
        self.weights = weights
        self.embed_query = embed_query
        self.embed_sentences = embed_sentences
        self.max_sentences = max_sentences
        self.max_per_passage = max_per_passage
        self.min_score = min_score
        self.shortlist = shortlist  # sentences embedded per answer, the lexically best: the embedding is the cost

    def select(self, query: str, passages: Sequence[Passage]) -> list[Candidate]:
        """The sentences that answer best: meaning (embedding) plus the query's rare words, then a cut."""
        candidates = lexical_candidates(query, passages, self.weights)
        if not candidates:
            return []
        shortlist = sorted(candidates, key=lambda c: c.score, reverse=True)[: self.shortlist]
        qv = self.embed_query(query)
        cosines = _cosines(qv, self.embed_sentences([c.text for c in shortlist]))
        rescored = []
        for cand, cosine in zip(shortlist, cosines, strict=True):
            rank_prior = 0.04 * (len(passages) - cand.passage) / max(len(passages), 1)
            score = relevance(cosine, cand.score) + rank_prior
            rescored.append(Candidate(cand.text, cand.passage, cand.order, score))
        rescored.sort(key=lambda c: c.score, reverse=True)
        chosen: list[Candidate] = []
        per_passage: dict[int, int] = {}
        for cand in rescored:
            if len(chosen) >= self.max_sentences:
                break
            if chosen and cand.score < self.min_score:
                break
            if per_passage.get(cand.passage, 0) >= self.max_per_passage:
                continue
            if any(_near_duplicate(cand.text, c.text) for c in chosen):
                continue
            chosen.append(cand)
            per_passage[cand.passage] = per_passage.get(cand.passage, 0) + 1
        return chosen

    def compose(
        self, query: str, passages: Sequence[Passage], audience: Audience
    ) -> tuple[str, tuple[Citation, ...], float]:
        """Markdown with [n] after every sentence, its citations, and the best sentence's score."""
        return self.layout(self.select(query, passages), passages, audience)

    def layout(
        self, chosen: Sequence[Candidate], passages: Sequence[Passage], audience: Audience
    ) -> tuple[str, tuple[Citation, ...], float]:
        """The chosen sentences (best first) under the audience's headings, each with its [n]; the citations; the
        first sentence's score."""
        if not chosen:
            return "", (), 0.0
        bottom, rest = chosen[0], chosen[1:]
        recommends = [c for c in rest if _RECOMMENDS.search(c.text) and not _AGAINST.search(c.text)]
        against = [c for c in rest if _AGAINST.search(c.text)]
        evidence = [c for c in rest if c not in recommends and c not in against]
        numbers: dict[int, int] = {}

        def cite(c: Candidate) -> str:
            n = numbers.setdefault(c.passage, len(numbers) + 1)
            return f"{c.text} [{n}]"

        names = HEADINGS[audience]
        parts = [f"**{names[0]}:** {cite(bottom)}"]
        for name, group in zip(names[1:], (recommends, against, evidence), strict=True):
            if group:
                group = sorted(group, key=lambda c: (c.passage, c.order))
                parts.append(f"**{name}**\n\n" + "\n".join(f"- {cite(c)}" for c in group))
        citations = tuple(citation_for(n, passages[p]) for p, n in sorted(numbers.items(), key=lambda kv: kv[1]))
        return "\n\n".join(parts), citations, bottom.score


def citation_for(n: int, passage: Passage) -> Citation:
    chunk = passage.chunk
    return Citation(
        n=n,
        title=chunk.doc.title,
        url=chunk.doc.url,
        section=chunk.section_label,
        updated=chunk.doc.updated,
        text=chunk.text,
        chunk_id=chunk.id,
        audience=chunk.doc.audience,
        evidence=chunk.evidence,
    )


def _near_duplicate(a: str, b: str) -> bool:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(min(len(wa), len(wb)), 1) > 0.8
