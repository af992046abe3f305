"""Follow-ups without an LLM: carry the conversation's topic into the retrieval query."""

from __future__ import annotations

from guidechat.chat.terms import TermWeights, query_terms
from guidechat.types import Turn


def conversation_topic(history: list[Turn], weights: TermWeights, max_terms: int) -> list[str]:
    """The previous turn's rarest terms; its query already carries the turns before it.

    The title of the guideline that answered is not carried: it often names the very qualifier a
    follow-up replaces ("...during pregnancy" before "And in men?")."""
    if not history:
        return []
    return weights.salient(history[-1].query, max_terms)


def condense(question: str, history: list[Turn], weights: TermWeights, max_terms: int) -> str:
    """The question, followed by the topic words it does not already contain."""
    present = set(query_terms(question))
    carried = [t for t in conversation_topic(history, weights, max_terms) if t not in present]
    if not carried:
        return question
    return f"{question} ({' '.join(carried)})"
