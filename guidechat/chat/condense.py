"""Follow-ups without an LLM: carry the conversation's topic into the retrieval query."""

from __future__ import annotations

from guidechat.chat.terms import TermWeights, query_terms
from guidechat.ingest.chunk import short_title
from guidechat.types import Turn


def conversation_topic(history: list[Turn], weights: TermWeights, max_terms: int) -> list[str]:
    """The previous turn's rarest terms plus the title of the guideline it answered from."""
    if not history:
        return []
    last = history[-1]
    topic = weights.salient(last.query, max_terms)
    if last.answer.citations and not last.answer.abstained:
        for word in query_terms(short_title(last.answer.citations[0].title)):
            if word not in topic:
                topic.append(word)
    return topic


def condense(question: str, history: list[Turn], weights: TermWeights, max_terms: int) -> str:
    """The question, followed by the topic words it does not already contain."""
    present = set(query_terms(question))
    carried = [t for t in conversation_topic(history, weights, max_terms) if t not in present]
    if not carried:
        return question
    return f"{question} ({' '.join(carried)})"
