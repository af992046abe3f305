"""Sentence splitting and term handling shared by ingest, retrieval and composing."""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "e.g", "i.e", "vs", "et al", "al", "dr", "fig", "figs", "approx", "ca", "cf", "etc",
    "mr", "mrs", "ms", "st", "jr", "inc", "ltd", "co", "u.s", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "ref", "refs", "vol", "pp", "min", "max", "mo", "yr",
}
# after . ! ? (and any closing quotes or brackets), or after a "(Level of evidence X)" tag that follows one
_BOUNDARY = re.compile(r"(?:(?<=[.!?])[\"')\]]*|(?P<tag>(?<=\))))\s+(?=[\"'(\[*]?[A-Z0-9])")
_EVIDENCE_TAG = "(Level of evidence "
_ENDS_WITH_EVIDENCE = re.compile(r"[.!?][\"')\]]*(?:\s*\(Level of evidence [^()]*\))+$")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also may might must shall s t don won isn aren wasn weren get got use used
    using any anything something thing things much many one two well really still like want wants need
    needs tell know let lets go going make made way ok okay please thanks thank i'm im i've ive what's
    whats is there anyone""".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-+/.]*[A-Za-z0-9+]|[A-Za-z0-9]")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations, decimals and initials together."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.end()].strip()  # closing quotes and brackets stay with the sentence
        if text.startswith(_EVIDENCE_TAG, match.end()):
            continue  # the PDQ evidence tag after a sentence belongs to it
        if match.group("tag") is not None and not _ENDS_WITH_EVIDENCE.search(candidate):
            continue  # a ")" ends a sentence only as the end of its evidence tag
        if _ends_with_abbreviation(candidate):
            continue
        if candidate:
            sentences.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_with_abbreviation(candidate: str) -> bool:
    trimmed = candidate.rstrip("\"')]")
    if not trimmed.endswith("."):
        return False
    words = trimmed[:-1].split()
    if not words:
        return True
    last = words[-1].lower().lstrip("([\"'")
    if last in _ABBREVIATIONS or (len(words) >= 2 and f"{words[-2].lower()} {last}" in _ABBREVIATIONS):
        return True
    return len(last) == 1 and last.isalpha()  # an initial such as "J."


def words(text: str) -> list[str]:
    """Lower-cased word tokens (keeps hyphenated terms and numbers such as 5-FU or 41.4)."""
    return [w.lower().rstrip(".") for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


_STEMMER = None


def stem(word: str) -> str:
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return str(_STEMMER.stemWord(word.lower()))


def stems(text: str) -> set[str]:
    return {stem(w) for part in words(text) for w in re.split(r"[/\-]", part) if w}
