"""Deciding that the indexed documents do not answer a question."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from guidechat.chat.terms import TermWeights, chunk_stems, query_terms
from guidechat.text import STOPWORDS, split_sentences, stem
from guidechat.types import Passage

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/]*")


@dataclass(frozen=True)
class Support:
    similarity: float  # best cosine similarity between the query and a top passage
    coverage: float  # share of the question's term weight (IDF) found in the top passages
    missing: tuple[str, ...]  # question terms that no top passage contains, rarest first


def measure_support(question: str, passages: Sequence[Passage], weights: TermWeights) -> Support:
    similarity = max((p.similarity for p in passages if p.similarity is not None), default=0.0)
    found: set[str] = set().union(*(chunk_stems(p.chunk) for p in passages))
    terms = query_terms(question)
    total = sum(weights.idf(t) for t in terms)
    missing = [t for t in terms if stem(t) not in found]
    covered = total - sum(weights.idf(t) for t in missing)
    coverage = covered / total if total else 1.0
    missing.sort(key=weights.idf, reverse=True)
    return Support(similarity, coverage, tuple(missing))


def should_abstain(support: Support, min_support: float, coverage_weight: float) -> bool:
    """Abstain unless the passages are close enough in meaning and in words taken together: a patient's
    wording may share few terms with a passage that means the same, and a passage may name every term of a
    question without answering it, but a passage only loosely similar that misses the question's rarest
    terms ("scalp cooling" beside a chemotherapy regimen) does not answer it."""
    return support.similarity + coverage_weight * support.coverage < min_support


def named_phrases(question: str) -> list[str]:
    """Multi-word names the question capitalises mid-sentence ("adding Tumor Treating Fields to ..."):
    devices, drugs, trials, scales. Acronym runs ("T1 N0 NSCLC") and title-cased questions are left out."""
    words = _TOKEN.findall(question)
    capitalised = [w for w in words if w[0].isupper()]
    if len(words) < 4 or len(capitalised) > len(words) / 2:
        return []
    phrases: list[str] = []
    for sentence in split_sentences(question):
        run: list[str] = []
        end = -1
        for i, match in enumerate(_TOKEN.finditer(sentence)):
            word = match.group()
            adjacent = not run or sentence[end : match.start()] == " "  # punctuation ends a name
            if i > 0 and word[0].isupper() and word.lower() not in STOPWORDS and adjacent:
                run.append(word)
            else:
                _keep(run, phrases)
                run = [word] if i > 0 and word[0].isupper() and word.lower() not in STOPWORDS else []
            end = match.end()
        _keep(run, phrases)
    return phrases


def _keep(run: list[str], phrases: list[str]) -> None:
    if len(run) >= 2 and any(w[1:].islower() and len(w) >= 3 for w in run):
        phrases.append(" ".join(run))


def unknown_names(question: str, in_corpus: Callable[[str], bool], known: Callable[[str], bool]) -> list[str]:
    """Names in the question that the indexed corpus never uses although it knows each of their words
    ("Tumor Treating Fields"): the documents cannot be about them. A name with a word the corpus lacks
    (a misspelling, a lost accent) is left to the term coverage check."""
    return [
        p
        for p in named_phrases(question)
        if all(known(t) for t in query_terms(p)) and not any(in_corpus(s) for s in _head_phrases(p))
    ]


def _head_phrases(phrase: str) -> list[str]:
    """The name and its shorter forms that keep the head word: "Chronic Myeloproliferative Neoplasms" is
    also known as "Myeloproliferative Neoplasms"."""
    words = phrase.split()
    return [" ".join(words[i:]) for i in range(len(words) - 1)]
