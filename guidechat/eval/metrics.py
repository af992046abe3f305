"""Retrieval and answer metrics, as pure functions over ranked results (each unit-tested by hand)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"\w+")
_MARKER = re.compile(r"\[\d+\]")
_HEADING = re.compile(r"\*\*[^*\n]+\*\*")  # the composers' bold headings ("**Bottom line:**")


def best_doc_rank(ranked_urls: Sequence[str], gold_urls: Iterable[str]) -> int | None:
    """1-based rank of the first gold document, counting each document once (at its best rank)."""
    gold = set(gold_urls)
    seen: list[str] = []
    for url in ranked_urls:
        if url in seen:
            continue
        seen.append(url)
        if url in gold:
            return len(seen)
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def section_hit_at(
    ranked: Sequence[tuple[str, Sequence[str]]], gold_urls: Iterable[str], gold_sections: Iterable[str], k: int
) -> float:
    """Whether a gold section of a gold document is among the top k passages (heading text, case aside)."""
    urls = set(gold_urls)
    sections = {s.strip().lower() for s in gold_sections}
    for url, path in ranked[:k]:
        if url in urls and sections & {h.strip().lower() for h in path}:
            return 1.0
    return 0.0


def key_fact_recall(text: str, facts: Sequence[str]) -> float | None:
    """Share of the key facts present in the text (case-insensitive); None when a case lists none."""
    if not facts:
        return None
    lowered = " ".join(text.lower().split())
    return sum(1 for f in facts if " ".join(f.lower().split()) in lowered) / len(facts)


def answer_words(markdown: str) -> str:
    """An answer's own words: citation markers and bold headings off (they are guidechat's template, not content)."""
    return " ".join(_HEADING.sub(" ", _MARKER.sub(" ", markdown)).split())


def rouge_l_f1(candidate: str, reference: str) -> float:
    """ROUGE-L F1: the longest common subsequence of the lower-cased words (\\w+), as the harmonic mean of its share
    of the candidate's words (precision) and of the reference's (recall)."""
    a, b = _WORD.findall(candidate.lower()), _WORD.findall(reference.lower())
    if not a or not b:
        return 0.0
    common = _lcs_length(a, b)
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def abstention_scores(expected: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of abstaining, and the over-refusal rate on answerable cases."""
    pairs = list(zip(expected, abstained, strict=True))
    true_pos = sum(1 for e, a in pairs if e and a)
    predicted = sum(1 for _, a in pairs if a)
    actual = sum(1 for e, _ in pairs if e)
    answerable = len(pairs) - actual
    over = sum(1 for e, a in pairs if not e and a)
    return {
        "precision": true_pos / predicted if predicted else None,
        "recall": true_pos / actual if actual else None,
        "over_refusal": over / answerable if answerable else None,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    index = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]
