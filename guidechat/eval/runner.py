"""Runs suites through exactly the chat pipeline (one fresh session per case, turns in order) and scores
every asked turn."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from guidechat.chat.verify import unresolved_markers, unsupported_claims
from guidechat.eval.metrics import (
    answer_words,
    best_doc_rank,
    hit_at,
    key_fact_recall,
    reciprocal_rank,
    rouge_l_f1,
    section_hit_at,
)
from guidechat.eval.suite import EvalCase, EvalTurn
from guidechat.types import Answer, Asker, Session

# unit vectors of texts, one row each (Embedder.embed_texts): the gold answer's cosine to the answer
Embed = Callable[[list[str]], NDArray[np.float32]]


@dataclass
class TurnResult:
    case_id: str
    suite: str
    turn: int  # 1-based
    audience: str
    qtype: str | None
    expect: str
    question: str
    query: str
    retrieved: list[dict[str, str]]
    citations: list[dict[str, Any]]
    answer: str
    abstained: bool
    latency_ms: dict[str, float]
    scores: dict[str, float | None] = field(default_factory=dict)
    gold_urls: list[str] = field(default_factory=list)
    composer: str = "extractive"
    generated_sentences: int = 0  # written by the language model, before verification
    removed_sentences: int = 0  # of those, removed by verification
    removed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.case_id,
            "suite": self.suite,
            "turn": self.turn,
            "audience": self.audience,
            "qtype": self.qtype,
            "expect": self.expect,
            "gold_urls": self.gold_urls,
            "question": self.question,
            "query": self.query,
            "retrieved": self.retrieved,
            "citations": self.citations,
            "answer": self.answer,
            "abstained": self.abstained,
            "latency_ms": self.latency_ms,
            "scores": self.scores,
            "composer": self.composer,
            "generated_sentences": self.generated_sentences,
            "removed_sentences": self.removed_sentences,
            "removed": self.removed,
        }


def score_turn(turn: EvalTurn, answer: Answer, k: int, embed: Embed | None = None) -> dict[str, float | None]:
    """Every per-turn figure; retrieval and answer ones only for answerable turns."""
    grounding: dict[str, float | None] = {
        "citations_resolve": 0.0 if unresolved_markers(answer) else 1.0,
        # an abstention quotes nothing: its sentences are guidechat's own, so there is nothing to support;
        # quoted and generated sentences alike go through verify.sentence_supported
        "sentences_supported": None if answer.abstained else (0.0 if unsupported_claims(answer) else 1.0),
        "disclaimer": 1.0 if answer.disclaimer.strip() else 0.0,
    }
    if turn.expect != "answer":
        return grounding
    urls = [p.chunk.doc.url for p in answer.passages]
    rank = best_doc_rank(urls, turn.gold_urls)
    top_text = " ".join(p.chunk.text for p in answer.passages[:k])
    ranked_sections = [(p.chunk.doc.url, p.chunk.section) for p in answer.passages]
    scores: dict[str, float | None] = {
        "doc_hit@1": hit_at(rank, 1),
        "doc_hit@5": hit_at(rank, 5),
        "doc_hit@10": hit_at(rank, 10),
        "mrr": reciprocal_rank(rank),
        "section_hit@5": section_hit_at(ranked_sections, turn.gold_urls, turn.gold_sections, 5)
        if turn.gold_sections
        else None,
        "facts_in_top5": key_fact_recall(top_text, turn.key_facts),
        "gold_cited": 1.0 if set(turn.gold_urls) & {c.url for c in answer.citations} else 0.0,
        "facts_in_answer": key_fact_recall(answer.markdown, turn.key_facts),
        **gold_answer_similarity(answer.markdown, turn.gold_answer, embed),
    }
    return {**scores, **grounding}


def gold_answer_similarity(markdown: str, gold: str | None, embed: Embed | None) -> dict[str, float | None]:
    """The answer's words against the suite's gold answer: ROUGE-L F1, and the cosine of the two texts' embeddings
    (the index's model, each text's first 256 word pieces). None where a case has no gold answer."""
    if not gold:
        return {}
    text = answer_words(markdown)
    cosine: float | None = None
    if embed is not None and text:
        vectors = embed([text, gold])
        cosine = round(float(vectors[0] @ vectors[1]), 4)
    return {"answer_rouge_l": round(rouge_l_f1(text, gold), 4), "answer_cosine": cosine}


def run_cases(
    asker: Asker,
    cases: Sequence[EvalCase],
    k: int = 5,
    on_turn: Callable[[], None] | None = None,
    embed: Embed | None = None,
) -> list[TurnResult]:
    results: list[TurnResult] = []
    for case in cases:
        session = Session()
        for number, turn in enumerate(case.turns, start=1):
            started = time.perf_counter()
            answer = asker.ask(turn.question, session, case.audience)
            wall = (time.perf_counter() - started) * 1000.0
            results.append(
                TurnResult(
                    case_id=case.id,
                    suite=case.suite,
                    turn=number,
                    audience=case.audience,
                    qtype=case.qtype,
                    expect=turn.expect,
                    question=turn.question,
                    query=answer.query,
                    retrieved=[{"url": p.chunk.doc.url, "section": p.chunk.section_label} for p in answer.passages],
                    citations=[
                        {"n": c.n, "url": c.url, "section": c.section, "text": c.text} for c in answer.citations
                    ],
                    answer=answer.markdown,
                    abstained=answer.abstained,
                    latency_ms={**answer.timings_ms, "wall": wall},
                    scores=score_turn(turn, answer, k, embed),
                    gold_urls=list(turn.gold_urls),
                    composer=answer.composer,
                    generated_sentences=answer.generated_sentences,
                    removed_sentences=sum(1 for r in answer.removed if r.kind == "sentence"),
                    removed=[{"sentence": r.sentence, "reason": r.reason, "kind": r.kind} for r in answer.removed],
                )
            )
            if on_turn:
                on_turn()
    return results
