"""ask(): condense -> retrieve -> abstain or compose (or generate and verify) -> disclaimer. The CLI, UI and
eval all use it; ask_stream() is the same with the generated text shown while it is written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from guidechat.chat.abstain import Support, measure_support, should_abstain, unknown_names
from guidechat.chat.compose import ExtractiveComposer, Matrix
from guidechat.chat.condense import condense, condense_with_model, favour_own_terms
from guidechat.chat.disclaimer import DISCLAIMER
from guidechat.chat.generate import Generation, GenerativeComposer
from guidechat.chat.suggest import Suggester
from guidechat.chat.terms import TermWeights
from guidechat.chat.topic import SubjectWords, on_subject
from guidechat.chat.trust import Reconciled, TrustReview, load_legend
from guidechat.config import Settings
from guidechat.index.bm25 import Bm25Index
from guidechat.index.indexer import IndexHome
from guidechat.index.manifest import Manifest
from guidechat.index.retriever import HybridRetriever, Only, only_for
from guidechat.ingest.chunk import short_title
from guidechat.ingest.clean import plain_text
from guidechat.llm import ChatModel, LLMUnavailable, build_chat_model
from guidechat.timing import ms_since
from guidechat.types import (
    Answer,
    Audience,
    Citation,
    Composer,
    Draft,
    LegendEntry,
    Passage,
    Removed,
    Scope,
    Session,
    Source,
    Turn,
)

RANKING_DEPTH = 30  # passages kept on the answer for eval: deep enough to rank 10 distinct documents

ABSTAIN_TEXT = (
    "The indexed guidelines do not address this question, so guidechat gives no answer rather than "
    "stitch together passages that do not answer it."
)


class ChatPipeline:
    def __init__(self, home: IndexHome, model: ChatModel | None = None) -> None:
        """`model` defaults to the one the settings configure (none: extractive answers only)."""
        self.settings: Settings = home.settings
        self.home = home
        bm25 = home.load_bm25()
        self.retriever = HybridRetriever(home.store, bm25, home.embedder, self.settings)
        self.weights = TermWeights(bm25.document_frequency, len(bm25))
        s = self.settings
        self.composer = ExtractiveComposer(
            self.weights,
            home.embedder.embed_question_for_sentences,
            self._embed_sentences,
            max_sentences=s.max_sentences,
            max_per_passage=s.max_sentences_per_passage,
            min_score=s.min_sentence_score,
            shortlist=s.compose_shortlist,
        )
        # on a shared Chroma server, take up what other processes ingest (guidechat/index/shared.py)
        self.follower = home.follow(self._use_bm25) if home.shared else None
        self.model = model if model is not None else build_chat_model(s)
        self.generator = GenerativeComposer(self.model) if self.model is not None else None
        # trust (#7): dates, levels of evidence, agreeing and differing documents; follow-up questions
        self._manifest: Manifest | None = None
        self._legend: dict[str, LegendEntry] | None = None
        self._subjects: SubjectWords | None = None
        self.trust = TrustReview(s, self._embed_sentences, self.legend)
        self.suggester = Suggester(self._chunk_ids, home.store.get, s.suggested_followups)
        self._know_audiences()

    def _embed_sentences(self, sentences: list[str]) -> Matrix:
        """Sentences embedded as they read: a link's words, not its address (a PDQ glossary link's address alone
        is some 30 word pieces, which the model would read and pay for)."""
        return self.home.embedder.embed_sentences([plain_text(s) for s in sentences])

    def _use_bm25(self, bm25: Bm25Index) -> None:
        """Swap in the BM25 index rebuilt after another process's ingest; the term weights follow it."""
        self.retriever = HybridRetriever(self.home.store, bm25, self.home.embedder, self.settings)
        self.weights = TermWeights(bm25.document_frequency, len(bm25))
        self.composer.weights = self.weights
        self._manifest, self._legend, self._subjects = None, None, None
        self._know_audiences()

    def _know_audiences(self) -> None:
        """Every chunk's audience, from the manifest, so a fresh process's first questions do not fetch it."""
        documents = self.manifest().documents.values()
        self.home.store.know_audiences({cid: e.audience or "any" for e in documents for cid in e.chunk_ids})

    def reload(self) -> None:
        """Take up this process's own ingest or removal (the library): BM25, term weights, cached manifest."""
        self._use_bm25(self.home.load_bm25())
        self.suggester.clear()

    def subjects(self) -> SubjectWords:
        """The words of the index's titles that name a subject, counted once per manifest."""
        if self._subjects is None:
            titles = [e.title for e in self.manifest().documents.values()]
            self._subjects = SubjectWords(titles, self.settings.subject_title_share)
        return self._subjects

    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = self.home.manifest()
        return self._manifest

    def legend(self) -> dict[str, LegendEntry]:
        """Level-of-evidence definitions from the indexed levels-of-evidence summaries (read once)."""
        if self._legend is None:
            docs = {k: (e.title, e.url, e.chunk_ids) for k, e in self.manifest().documents.items()}
            self._legend = load_legend(docs, self.home.store.get)
        return self._legend

    def _chunk_ids(self, key: str) -> list[str]:
        entry = self.manifest().documents.get(key)
        return entry.chunk_ids if entry else []

    def _only(self, scope: Scope) -> Only | None:
        return only_for(self.manifest(), scope.documents, scope.audience) if scope else None

    def close(self) -> None:
        """Stop following the shared index (a no-op for an embedded one)."""
        if self.follower is not None:
            self.follower.stop()

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatPipeline:
        return cls(IndexHome(settings))

    def ask(self, question: str, session: Session, audience: Audience = "clinician") -> Answer:
        for event in self.ask_stream(question, session, audience):
            if isinstance(event, Answer):
                return event
        raise AssertionError("ask_stream ends with an Answer")

    def ask_stream(self, question: str, session: Session, audience: Audience = "clinician") -> Iterator[Draft | Answer]:
        """Drafts of the generated text while a model writes (none without one), then the verified Answer."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        s = self.settings
        timings: dict[str, float] = {}
        started = time.perf_counter()

        t = time.perf_counter()
        query = self._condense(question, session)
        timings["condense"] = ms_since(t)

        t = time.perf_counter()
        audience = session.scope.audience or audience  # restricted to one audience: answered for it
        retrieval = self.retriever.retrieve(query, audience, only=self._only(session.scope))
        if query != question:
            retrieval.passages = favour_own_terms(retrieval.passages, question, query, s.followup_own_terms_boost)
        timings["retrieve"] = ms_since(t)
        timings.update({f"retrieve_{k}": v for k, v in retrieval.timings_ms.items()})
        top = retrieval.passages[: s.top_k]

        t = time.perf_counter()
        support = measure_support(question, top, self.weights)
        answer_md, best = "", 0.0
        citations: tuple[Citation, ...] = ()
        reconciled: Reconciled | None = None
        abstained = should_abstain(support, s.abstain_min_support, s.abstain_coverage_weight)
        unknown = [] if abstained else unknown_names(question, self.retriever.phrase_in_corpus, self.weights.known)
        if unknown:
            abstained = True
            support = Support(support.similarity, support.coverage, tuple(unknown) + support.missing)
        if not abstained:
            # composed from the passages on the question's subject, looked for among the ranked ones past top_k too
            if s.subject_title_share:
                top = on_subject(query, retrieval.passages[: max(s.top_k, s.subject_depth)], self.subjects(), s.top_k)
            answer_md, citations, best, reconciled = self.trust.compose(self.composer, query, top, audience)
            abstained = not citations or best < s.min_answer_score
        if abstained:
            answer_md, citations = _abstention_markdown(support), ()
        timings["compose"] = ms_since(t)

        composer: Composer = "extractive"
        note, generated = "", 0
        removed: tuple[Removed, ...] = ()
        if not abstained and self.generator is not None:
            t = time.perf_counter()
            outcome: Generation | LLMUnavailable
            try:
                outcome = yield from self.generator.generate(query, top, audience)
            except LLMUnavailable as exc:
                outcome = exc
            timings["generate"] = ms_since(t)
            generated = outcome.generated if isinstance(outcome, Generation) else 0
            removed = outcome.removed if isinstance(outcome, Generation) else ()
            if isinstance(outcome, Generation) and outcome.kept >= max(1, s.min_verified_sentences):
                composer, answer_md, citations = "generative", outcome.markdown, outcome.citations
                dropped = generated - outcome.kept
                if dropped:
                    note = (f"Verification removed {dropped} of {generated} generated sentences: uncited, repeated, "
                            "or not supported by the passages they cite.")
            else:
                composer, note = "extractive-fallback", _fallback_note(outcome)
        timings["total"] = ms_since(started)

        answer = Answer(
            question=question,
            query=query,
            markdown=answer_md,
            citations=citations,
            abstained=abstained,
            disclaimer=DISCLAIMER,
            audience=audience,
            related=_related(top) if abstained else (),
            timings_ms=timings,
            passages=tuple(retrieval.passages[: max(s.top_k, RANKING_DEPTH)]),
            composer=composer,
            note=note,
            generated_sentences=generated,
            removed=removed,
        )
        t = time.perf_counter()
        answer = self.trust.annotate(answer, reconciled, top)
        answer = replace(answer, followups=self.suggester.suggest(answer, top))
        timings["trust"] = ms_since(t)
        timings["total"] = ms_since(started)
        session.turns.append(Turn(question=question, query=query, answer=answer))
        yield answer

    def _condense(self, question: str, session: Session) -> str:
        s = self.settings
        rules = condense(question, session.turns, self.weights, s.followup_context_terms)
        if self.model is None or not s.llm_condense or rules == question:  # not a follow-up, or nothing to carry
            return rules
        rewritten = condense_with_model(question, session.turns, self.weights, s.followup_context_terms, self.model)
        return rewritten or rules


def _fallback_note(outcome: Generation | LLMUnavailable) -> str:
    quoted = "so this answer quotes the sources directly instead."
    if isinstance(outcome, LLMUnavailable):
        return f"The language model could not answer ({outcome}), {quoted}"
    if outcome.not_answered:
        return f"The language model found no answer in the passages, {quoted}"
    return (f"Only {outcome.kept} of {outcome.generated} generated sentences could be verified against the "
            f"cited passages, {quoted}")


def _abstention_markdown(support: Support) -> str:
    text = ABSTAIN_TEXT
    if support.missing:
        named = ", ".join(f"“{t}”" for t in support.missing[:3])
        text += f" None of the closest passages mentions {named}."
    return text + " The nearest related sources are listed below; they may not answer the question."


def _related(passages: list[Passage], limit: int = 3) -> tuple[Source, ...]:
    seen: set[str] = set()
    out: list[Source] = []
    for p in passages:
        if p.chunk.doc.url in seen:
            continue
        seen.add(p.chunk.doc.url)
        out.append(Source(title=short_title(p.chunk.doc.title), url=p.chunk.doc.url, section=p.chunk.section_label))
        if len(out) == limit:
            break
    return tuple(out)
