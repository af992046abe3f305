"""What lets a clinician judge how far to trust each sentence (#7), added to every answer:

- recency: each citation shows its source's updated date, and one updated longer ago than stale_after_years
  is flagged (Citation.stale);
- same point, newer preferred: two quotable sentences from different documents say the same thing when their
  embeddings are at least same_point_similarity close (cosine) and their words agree too (same_claim: most content
  words shared, the same numbers and negations; "Anatomy of the male breast." is not "... female breast.", however
  close the vectors); when both documents are dated (differently), the newer document's sentence is the one quoted
  (in place of the older one, when the composer chose that) and the answer names both documents and dates;
- disagreement: a quoted recommendation and the recommendations at least disagreement_similarity close to it
  (cosine) make one point; when two of them from different documents differ (one recommends and the other
  advises against, or both recommend for different ages: guidechat/chat/disagree.py), the point is shown side by
  side, one column per document, with sources and dates;
- levels of evidence: the codes the cited passages carry, with their definitions read from the indexed PDQ
  levels-of-evidence summaries (guidechat/chat/evidence.py).

The answer's markdown stays the composer's (verified) text; rendering puts these beside it (render_trust.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from guidechat.chat.compose import Candidate, ExtractiveComposer, citation_for, lexical_candidates, relevance
from guidechat.chat.disagree import Recommendation, difference, recommendation
from guidechat.chat.evidence import is_legend_document, legend_from_chunks
from guidechat.chat.recency import is_newer, is_stale
from guidechat.chat.verify import content_stems, negations, numbers
from guidechat.config import Settings
from guidechat.ingest.clean import plain_text
from guidechat.types import (
    Answer,
    Audience,
    Citation,
    Disagreement,
    LegendEntry,
    Passage,
    Preference,
    Side,
    Trust,
)

SAME_WORDS = 0.6  # share of content words (Jaccard) two sentences saying the same thing have in common
MAX_DISAGREEMENTS = 2
MAX_SIDES = 5  # sentences shown for one point, from two documents or more
POOL_SIZE = 24  # sentences looked at beside the chosen ones (the composer's shortlist)


@dataclass
class Reconciled:
    """The composer's choice after preferring newer documents, and the points on which documents differ."""

    chosen: list[Candidate]
    preferred: list[tuple[Candidate, Candidate]] = field(default_factory=list)  # (kept, dropped)
    differ: list[tuple[str, list[tuple[Candidate, Recommendation]]]] = field(default_factory=list)


def _pool(composer: ExtractiveComposer, query: str, passages: Sequence[Passage]) -> list[Candidate]:
    """The quotable sentences of the passages that answer the query (the composer's own score, without its
    cut: a sentence another document also says is kept here), best first."""
    lexical = lexical_candidates(query, passages, composer.weights)
    # the composer's own shortlist size where it has one: the same sentences, so their vectors are cached
    size = int(getattr(composer, "shortlist", POOL_SIZE))
    shortlist = sorted(lexical, key=lambda c: c.score, reverse=True)[:size]
    if not shortlist:
        return []
    rows = _unit_rows(composer.embed_sentences([c.text for c in shortlist]))
    query_row = _unit_rows([composer.embed_query(query)])[0]
    scored = [replace(c, score=relevance(float(row @ query_row), c.score))
              for c, row in zip(shortlist, rows, strict=True)]
    return sorted((c for c in scored if c.score >= composer.min_score), key=lambda c: c.score, reverse=True)


def same_claim(a: str, b: str) -> bool:
    """Words that agree (as read, links' addresses aside): most content words shared, the same numbers and
    negations."""
    a, b = plain_text(a), plain_text(b)
    wa, wb = content_stems(a), content_stems(b)
    shared = len(wa & wb) / max(len(wa | wb), 1)
    return shared >= SAME_WORDS and numbers(a) == numbers(b) and negations(a) == negations(b)


def _unit_rows(vectors: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim != 2 or not len(rows):
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray[Any, np.dtype[np.float32]] = rows / norms
    return unit


class TrustReview:
    def __init__(
        self,
        settings: Settings,
        embed_sentences: Callable[[list[str]], Any],
        legend: Callable[[], Mapping[str, LegendEntry]],
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.settings = settings
        self.embed_sentences = embed_sentences
        self.legend = legend
        self.today = today

    def compose(
        self, composer: ExtractiveComposer, query: str, passages: Sequence[Passage], audience: Audience
    ) -> tuple[str, tuple[Citation, ...], float, Reconciled]:
        """The extractive answer, with newer documents preferred; also what annotate() needs."""
        chosen = composer.select(query, passages)
        if not chosen:
            return "", (), 0.0, Reconciled([])
        reconciled = self.reconcile(chosen, _pool(composer, query, passages), passages)
        markdown, citations, _ = composer.layout(reconciled.chosen, passages, audience)
        return markdown, citations, chosen[0].score, reconciled

    def reconcile(
        self, chosen: Sequence[Candidate], pool: Sequence[Candidate], passages: Sequence[Passage]
    ) -> Reconciled:
        s = self.settings
        items: list[Candidate] = []
        for c in [*chosen, *pool]:
            if all((c.passage, c.text) != (o.passage, o.text) for o in items):
                items.append(c)
        vectors = _unit_rows(self.embed_sentences([c.text for c in items]))
        if not vectors.size:
            return Reconciled(list(chosen))
        similar = vectors @ vectors.T
        docs = [passages[c.passage].chunk.doc for c in items]
        recs = [recommendation(c.text) for c in items]
        result = list(range(len(chosen)))
        out = Reconciled([])

        noted: set[frozenset[int]] = set()
        for i in list(result):
            if i not in result:
                continue
            twin, twin_sim = None, s.same_point_similarity
            for j in range(len(items)):
                if j == i or docs[j].url == docs[i].url or similar[i, j] < twin_sim:
                    continue
                if not same_claim(items[i].text, items[j].text):
                    continue
                if not (is_newer(docs[j].updated, docs[i].updated) or is_newer(docs[i].updated, docs[j].updated)):
                    continue  # a date unknown, or the same: nothing to prefer
                rec_i, rec_j = recs[i], recs[j]
                if rec_i and rec_j and difference(rec_i, rec_j):
                    continue  # close in words, different in what they recommend: shown as a disagreement
                twin, twin_sim = j, float(similar[i, j])
            if twin is None or frozenset((i, twin)) in noted:
                continue
            noted.add(frozenset((i, twin)))
            newer, older = (twin, i) if is_newer(docs[twin].updated, docs[i].updated) else (i, twin)
            if older in result:
                # the newer one in its place, unless the answer already says that (it, or its own twin)
                said = any(similar[newer, r] >= s.same_point_similarity for r in result if r != older)
                if said:
                    result.remove(older)
                else:
                    result[result.index(older)] = newer
            out.preferred.append((items[newer], items[older]))

        used: set[int] = set()
        for i in result:
            rec_i = recs[i]
            if rec_i is None or i in used:
                continue
            close = sorted((j for j in range(len(items)) if j != i and j not in used and recs[j] is not None
                            and similar[i, j] >= s.disagreement_similarity), key=lambda j: -similar[i, j])
            members = [i, *close][:MAX_SIDES]
            reasons = [difference(ra, rb) for a in members for b in members
                       if docs[a].url < docs[b].url and (ra := recs[a]) and (rb := recs[b])]
            reason = next((r for r in reasons if r), None)
            if reason is None:
                continue
            out.differ.append((reason, [(items[m], rec) for m in members if (rec := recs[m]) is not None]))
            used.update(members)
            if len(out.differ) >= MAX_DISAGREEMENTS:
                break
        out.chosen = [items[i] for i in result]
        return out

    def annotate(self, answer: Answer, reconciled: Reconciled | None, passages: Sequence[Passage]) -> Answer:
        """Stale flags, preferences, disagreements (their passages cited) and the legend, on the answer."""
        s = self.settings
        today = self.today()
        citations = [replace(c, stale=is_stale(c.updated, s.stale_after_years, today)) for c in answer.citations]
        by_chunk = {c.chunk_id: c for c in citations}

        def cite(candidate: Candidate) -> Citation:
            passage = passages[candidate.passage]
            found = by_chunk.get(passage.chunk.id)
            if found is None:  # a side of a disagreement that the body does not quote
                found = replace(citation_for(len(citations) + 1, passage),
                                stale=is_stale(passage.chunk.doc.updated, s.stale_after_years, today))
                citations.append(found)
                by_chunk[found.chunk_id] = found
            return found

        preferred: list[Preference] = []
        disagreements: list[Disagreement] = []
        if reconciled is not None and citations:
            if answer.composer != "generative":  # a generated text is not made of the composer's choice
                for kept, dropped in reconciled.preferred:
                    k, d = cite(kept), passages[dropped.passage].chunk.doc
                    preferred.append(Preference(k.n, k.title, k.updated, d.title, d.url, d.updated, dropped.text))
            for reason, pair in reconciled.differ:
                sides = []
                for candidate, rec in pair:
                    c = cite(candidate)
                    sides.append(Side(c.n, candidate.text, c.title, c.url, c.updated, rec.label()))
                disagreements.append(Disagreement(reason, tuple(sides)))
        codes = [code for c in citations for code in c.evidence]
        legend = self.legend() if codes else {}
        entries = tuple(legend[code] for code in dict.fromkeys(codes) if code in legend)
        trust = Trust(s.stale_after_years, tuple(preferred), tuple(disagreements), entries)
        return replace(answer, citations=tuple(citations), trust=trust)


def load_legend(documents: Mapping[str, tuple[str, str, list[str]]], get_chunks: Callable[[list[str]], Any]
                ) -> dict[str, LegendEntry]:
    """The legend from the indexed levels-of-evidence summaries: `documents` maps a manifest key to (title, url,
    chunk ids); `get_chunks` fetches chunks by id (VectorStore.get)."""
    ids = [cid for title, url, chunk_ids in documents.values() if is_legend_document(title, url) for cid in chunk_ids]
    return legend_from_chunks(get_chunks(ids).values()) if ids else {}
