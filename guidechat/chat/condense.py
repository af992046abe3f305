"""Follow-ups: carry the conversation's topic into the retrieval query (rules), or let a configured language
model rewrite the follow-up, checked against the same topic."""

from __future__ import annotations

import re

from guidechat.chat.prompts import NOT_ANSWERED, condense_prompt
from guidechat.chat.terms import TermWeights, chunk_stems, query_terms
from guidechat.llm.base import ChatModel, LLMUnavailable, complete
from guidechat.text import stem, stems
from guidechat.types import Passage, Turn

# Words that point back at something said earlier ("that trial", "is it safe", "what about...").
_ANAPHORA = frozenset(
    "it its this that these those they them their he she him her his hers same such above former latter "
    "trial study regimen drug option approach one ones".split()
)
_FOLLOW_UP_OPENING = re.compile(r"^\s*(?:and|but|also|so|then|what about|how about|what if|if so|if not)\b", re.I)
_OWN_TOPIC_TERMS = 3  # a question naming this many terms of the corpus stands on its own


def is_follow_up(question: str, weights: TermWeights) -> bool:
    """A question that leans on the conversation: it opens like a follow-up, points back, or names little."""
    if _FOLLOW_UP_OPENING.search(question):
        return True
    words = set(re.findall(r"[a-z]+", question.lower()))
    if words & _ANAPHORA:
        return True
    return len([t for t in query_terms(question) if weights.known(t)]) < _OWN_TOPIC_TERMS


def conversation_topic(history: list[Turn], weights: TermWeights, max_terms: int) -> list[str]:
    """The previous turn's rarest terms; its query already carries the turns before it.

    The title of the guideline that answered is not carried: it often names the very qualifier a
    follow-up replaces ("...during pregnancy" before "And in men?")."""
    if not history:
        return []
    return weights.salient(history[-1].query, max_terms)


def condense(question: str, history: list[Turn], weights: TermWeights, max_terms: int) -> str:
    """A follow-up gets the topic words it does not already contain; a new question stands alone."""
    if not history or not is_follow_up(question, weights):
        return question
    present = set(query_terms(question))
    carried = [t for t in conversation_topic(history, weights, max_terms) if t not in present]
    if not carried:
        return question
    return f"{question} ({' '.join(carried)})"


def favour_own_terms(passages: list[Passage], question: str, query: str, boost: float) -> list[Passage]:
    """In a follow-up the carried topic outweighs the few words that are new ("And in men?"): passages that
    contain those new words and the topic's move up."""
    own = {stem(t) for t in query_terms(question)}
    topic = {stem(t) for t in query_terms(query)} - own
    if not own or boost <= 0:
        return passages

    def score(p: Passage) -> float:
        found = chunk_stems(p.chunk)
        topic_share = len(topic & found) / len(topic) if topic else 1.0
        return p.score * (1.0 + boost * len(own & found) / len(own)) * (1.0 + boost * topic_share)

    return sorted(passages, key=score, reverse=True)


def condense_with_model(
    question: str, history: list[Turn], weights: TermWeights, max_terms: int, model: ChatModel
) -> str | None:
    """A language model's standalone rewrite of a follow-up, or None when it fails or drifts: the rewrite
    must keep every term of the question and at least one term of the conversation's topic."""
    prompt = condense_prompt(question, history)
    try:
        text = complete(model, prompt.system, prompt.user)
    except LLMUnavailable:
        return None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    rewritten = re.sub(r"^(?:standalone question|question|q)\s*:\s*", "", lines[0].strip(), flags=re.I).strip("\"' ")
    if not rewritten or len(rewritten) > max(300, 3 * len(question)) or NOT_ANSWERED in rewritten:
        return None
    found = stems(rewritten)
    if not {stem(t) for t in query_terms(question)} <= found:
        return None
    topic = conversation_topic(history, weights, max_terms)
    if topic and not any(stem(t) in found for t in topic):
        return None
    return rewritten
