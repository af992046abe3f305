"""Hybrid retrieval: dense (Chroma) and BM25, fused by weighted reciprocal rank fusion."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from guidechat.config import Settings
from guidechat.index.acronyms import long_form, spelled_out
from guidechat.index.age import other_group, question_age_group, title_age_group
from guidechat.index.bm25 import Bm25Index
from guidechat.index.embed import Embedder
from guidechat.index.manifest import Manifest
from guidechat.index.store import VectorStore
from guidechat.timing import ms_since
from guidechat.types import Audience, Chunk, Passage


@dataclass(frozen=True)
class Only:
    """A restriction to some documents (Scope resolved against the manifest): their ids and chunk ids."""

    doc_ids: frozenset[str]
    chunk_ids: frozenset[str]


def only_for(manifest: Manifest, keys: frozenset[str], audience: Audience | None) -> Only:
    """The documents a Scope allows: those keys (all when none), and of them those for the audience (documents for
    anyone included)."""
    entries = [
        entry
        for key, entry in manifest.documents.items()
        if (not keys or key in keys) and (audience is None or entry.audience in (audience, "any"))
    ]
    return Only(frozenset(e.doc_id for e in entries), frozenset(c for e in entries for c in e.chunk_ids))


@dataclass
class Retrieval:
    passages: list[Passage]  # fused, best first
    timings_ms: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    """Reciprocal rank fusion over four ranked lists: dense and BM25, for the preferred audience and for
    all documents. The other audience's passages enter only through the 'all' lists, at a lower weight,
    so they are used when the preferred audience has nothing close."""

    def __init__(self, store: VectorStore, bm25: Bm25Index, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder
        self.settings = settings
        self._long_forms: dict[str, str | None] = {}

    def retrieve(self, query: str, audience: Audience, n: int | None = None, only: Only | None = None) -> Retrieval:
        """Fused passages; with `only`, from those documents alone."""
        s = self.settings
        n = n or s.candidates
        timings: dict[str, float] = {}
        t = time.perf_counter()
        if s.spell_out_acronyms:
            query = spelled_out(query, self.long_form)
            timings["acronyms"] = ms_since(t)
            t = time.perf_counter()
        vector = self.embedder.embed_query(query)
        timings["embed"] = ms_since(t)

        t = time.perf_counter()
        doc_ids = only.doc_ids if only is not None else None
        if doc_ids is None:
            dense_all, dense_pref = self.store.nearest(vector, n, audience)
        else:
            dense_all = self.store.query(vector, n, doc_ids=doc_ids)
            dense_pref = self.store.query(vector, n, audience, doc_ids=doc_ids)
        timings["dense"] = ms_since(t)

        t = time.perf_counter()
        if only is None:
            lexical = self.bm25.search(query, n * 4)
        else:  # every match, then only the allowed ones: a few documents may rank far down the whole corpus
            lexical = [(cid, v) for cid, v in self.bm25.search(query, len(self.bm25)) if cid in only.chunk_ids][: n * 4]
        timings["bm25"] = ms_since(t)

        t = time.perf_counter()
        chunks: dict[str, Chunk] = {c.id: c for c, _ in dense_all + dense_pref}
        missing = [cid for cid, _ in lexical if cid not in chunks]
        chunks.update(self.store.get(missing))
        lexical = [(cid, score) for cid, score in lexical if cid in chunks]
        bm25_all = [cid for cid, _ in lexical][:n]
        bm25_pref = [cid for cid, _ in lexical if _matches(chunks[cid], audience)][:n]
        similarity = {c.id: sim for c, sim in dense_all + dense_pref}

        # Fall back to the other audience when the preferred one has nothing nearly as close.
        best_pref = max((sim for _, sim in dense_pref), default=-1.0)
        best_all = max((sim for _, sim in dense_all), default=-1.0)
        dense_ids = [c.id for c, _ in dense_all]
        b = s.bm25_weight
        lists = [(dense_ids, 1.0, "dense"), (bm25_all, b, "bm25")]
        if best_pref >= best_all - s.audience_fallback_margin:
            w = s.other_audience_weight
            pref_ids = [c.id for c, _ in dense_pref]
            lists = [
                (pref_ids, 1.0, "dense"),
                (bm25_pref, b, "bm25"),
                (dense_ids, w, "dense"),
                (bm25_all, w * b, "bm25"),
            ]
        fused: dict[str, float] = {}
        for ids, weight, kind in lists:
            if s.retrieval_mode not in ("hybrid", kind):  # the single-retriever baselines
                continue
            for rank, cid in enumerate(ids, start=1):
                fused[cid] = fused.get(cid, 0.0) + weight / (s.rrf_k + rank)
        _weigh_age_groups(fused, chunks, query, s.other_age_group_weight)
        dense_rank = {c.id: i for i, (c, _) in enumerate(dense_all, start=1)}
        bm25_rank = {cid: i for i, cid in enumerate(bm25_all, start=1)}
        ranked = sorted(fused, key=lambda cid: fused[cid], reverse=True)
        passages = [
            Passage(
                chunk=chunks[cid],
                score=fused[cid],
                dense_rank=dense_rank.get(cid),
                bm25_rank=bm25_rank.get(cid),
                similarity=similarity.get(cid),
            )
            for cid in ranked
        ]
        timings["fuse"] = ms_since(t)
        return Retrieval(passages=passages, timings_ms=timings)

    def long_form(self, acronym: str) -> str | None:
        """What the indexed chunks that use an acronym most often spell it out as (None: they never do)."""
        if acronym not in self._long_forms:
            if not self.bm25.reads_as_another_word(acronym):
                self._long_forms[acronym] = None  # the model and BM25 read it as itself: nothing to add
                return None
            ids = self.bm25.chunks_with(acronym, 40)
            self._long_forms[acronym] = long_form(acronym, (c.text for c in self.store.get(ids).values()))
        return self._long_forms[acronym]

    def phrase_in_corpus(self, phrase: str) -> bool:
        """Whether any indexed chunk contains the phrase (case and spacing aside): BM25 finds the chunks
        richest in its words, then the text is checked."""
        wanted = " ".join(phrase.lower().split())
        ids = [cid for cid, _ in self.bm25.search(phrase, 30)]
        for chunk in self.store.get(ids).values():
            haystack = " ".join(f"{chunk.doc.title} {' '.join(chunk.section)} {chunk.text}".lower().split())
            if wanted in haystack:
                return True
        return False


def _weigh_age_groups(fused: dict[str, float], chunks: dict[str, Chunk], query: str, weight: float) -> None:
    """A question that names an age group ("Adult Hodgkin Lymphoma", "my 6-year-old"): the documents titled for the
    other group ("Childhood Hodgkin Lymphoma Treatment") count at `weight`."""
    group = question_age_group(query)
    if group is None or weight == 1.0:
        return
    other = other_group(group)
    for cid in fused:
        if title_age_group(chunks[cid].doc.title) == other:
            fused[cid] *= weight


def _matches(chunk: Chunk, audience: Audience) -> bool:
    return chunk.doc.audience in (None, audience)
