"""Deciding that the indexed documents do not answer a question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guidechat.chat.terms import TermWeights, query_terms
from guidechat.text import stem, stems
from guidechat.types import Passage


@dataclass(frozen=True)
class Support:
    similarity: float  # best cosine similarity between the query and a top passage
    coverage: float  # share of the question's term weight (IDF) found in the top passages
    missing: tuple[str, ...]  # question terms that no top passage contains, rarest first


def measure_support(question: str, passages: Sequence[Passage], weights: TermWeights) -> Support:
    similarity = max((p.similarity for p in passages if p.similarity is not None), default=0.0)
    found: set[str] = set()
    for p in passages:
        found |= stems(p.chunk.text) | stems(" ".join(p.chunk.section)) | stems(p.chunk.doc.title)
    terms = query_terms(question)
    total = sum(weights.idf(t) for t in terms)
    missing = [t for t in terms if stem(t) not in found]
    covered = total - sum(weights.idf(t) for t in missing)
    coverage = covered / total if total else 1.0
    missing.sort(key=weights.idf, reverse=True)
    return Support(similarity, coverage, tuple(missing))


def should_abstain(support: Support, min_similarity: float, min_coverage: float) -> bool:
    """Abstain unless the passages are close in meaning or contain most of what the question names."""
    return support.similarity < min_similarity and support.coverage < min_coverage
