"""The named types that move between stages: ingest -> index -> chat -> ui/eval."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Audience = Literal["clinician", "patient"]
AUDIENCES: tuple[Audience, ...] = ("clinician", "patient")


@dataclass(frozen=True)
class DocMeta:
    """What a citation says about the document a passage came from."""

    title: str
    url: str
    publisher: str = ""
    audience: Audience | None = None  # None: written for anyone
    updated: str = ""  # ISO date (YYYY-MM-DD) or "" when unknown
    source_path: str = ""  # the file it was read from


@dataclass(frozen=True)
class Document:
    """A loaded file: its metadata and its body as markdown (every format is turned into this)."""

    meta: DocMeta
    markdown: str


@dataclass(frozen=True)
class Chunk:
    """One retrievable unit; it never crosses a section boundary."""

    id: str  # stable: hash of (doc url, section path, text)
    doc_id: str  # stable id of the document (one per source file)
    text: str  # cleaned markdown as a reader sees it (links absolute)
    doc: DocMeta
    section: tuple[str, ...]  # heading path below the document title
    evidence: tuple[str, ...] = ()  # PDQ level-of-evidence codes cited in this chunk
    position: int = 0  # order within the document

    @property
    def section_label(self) -> str:
        return " > ".join(self.section) if self.section else self.doc.title


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved for one query."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    similarity: float | None = None  # cosine similarity to the query, when known


@dataclass(frozen=True)
class Citation:
    n: int
    title: str
    url: str
    section: str
    updated: str
    text: str  # the cited passage
    chunk_id: str = ""
    audience: str | None = None
    evidence: tuple[str, ...] = ()
    stale: bool = False  # updated longer ago than the stale_after_years setting


@dataclass(frozen=True)
class Source:
    """A related document listed when the answer abstains."""

    title: str
    url: str
    section: str


Composer = Literal["extractive", "generative", "extractive-fallback"]


@dataclass(frozen=True)
class Side:
    """One document's side of a point on which the cited documents differ."""

    n: int  # its citation
    text: str  # the sentence, quoted
    title: str
    url: str
    updated: str
    stance: str  # "recommends", "advises against", or the ages it names ("ages 30")


@dataclass(frozen=True)
class Disagreement:
    """Passages of different documents that make different recommendations on the same point."""

    reason: str
    sides: tuple[Side, ...]


@dataclass(frozen=True)
class Preference:
    """Two documents say the same thing; the newer one is quoted."""

    kept_n: int
    kept_title: str
    kept_updated: str
    dropped_title: str
    dropped_url: str
    dropped_updated: str
    dropped_text: str


@dataclass(frozen=True)
class LegendEntry:
    """What a level-of-evidence code means, read from the corpus's own levels-of-evidence page."""

    code: str
    definition: str
    source_title: str
    source_url: str


@dataclass(frozen=True)
class Trust:
    """What a clinician needs to judge an answer besides its citations (guidechat/chat/trust.py)."""

    stale_after_years: int = 5
    preferred: tuple[Preference, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()
    legend: tuple[LegendEntry, ...] = ()  # the codes the cited passages carry

    def to_json(self) -> dict[str, object]:
        return {
            "stale_after_years": self.stale_after_years,
            "preferred": [vars(p) for p in self.preferred],
            "disagreements": [
                {"reason": d.reason, "sides": [vars(s) for s in d.sides]} for d in self.disagreements
            ],
            "legend": [vars(e) for e in self.legend],
        }


@dataclass(frozen=True)
class Scope:
    """Restricts what a question is answered from: only these documents (their manifest keys), only one audience."""

    documents: frozenset[str] = frozenset()
    audience: Audience | None = None

    def __bool__(self) -> bool:
        return bool(self.documents) or self.audience is not None


@dataclass(frozen=True)
class Removed:
    """What verification took out of a generated answer, and why."""

    sentence: str
    reason: str
    kind: Literal["sentence", "marker"] = "sentence"  # a whole sentence, or one out-of-range [n] in a kept one


@dataclass(frozen=True)
class Draft:
    """Generated text so far, streamed before it is verified; never the answer itself."""

    text: str


@dataclass(frozen=True)
class Answer:
    question: str  # as asked
    query: str  # standalone form after condensing a follow-up
    markdown: str  # the answer body with [n] markers
    citations: tuple[Citation, ...]
    abstained: bool
    disclaimer: str
    audience: Audience = "clinician"
    related: tuple[Source, ...] = ()  # nearest sources when abstaining
    timings_ms: dict[str, float] = field(default_factory=dict)
    passages: tuple[Passage, ...] = ()  # everything retrieved, ranked (for eval)
    composer: Composer = "extractive"
    note: str = ""  # shown above the answer: why a generated answer fell back, or what verification removed
    generated_sentences: int = 0  # sentences the language model wrote, before verification
    removed: tuple[Removed, ...] = ()
    trust: Trust = field(default_factory=Trust)
    followups: tuple[str, ...] = ()  # questions on the sections next to the cited ones

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "query": self.query,
            "audience": self.audience,
            "markdown": self.markdown,
            "citations": [
                {
                    "n": c.n,
                    "title": c.title,
                    "url": c.url,
                    "section": c.section,
                    "updated": c.updated,
                    "text": c.text,
                    "evidence": list(c.evidence),
                    "stale": c.stale,
                }
                for c in self.citations
            ],
            "abstained": self.abstained,
            "related": [{"title": s.title, "url": s.url, "section": s.section} for s in self.related],
            "disclaimer": self.disclaimer,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "composer": self.composer,
            "note": self.note,
            "generated_sentences": self.generated_sentences,
            "removed": [{"sentence": r.sentence, "reason": r.reason, "kind": r.kind} for r in self.removed],
            "trust": self.trust.to_json(),
            "followups": list(self.followups),
        }


@dataclass(frozen=True)
class Turn:
    question: str
    query: str
    answer: Answer


@dataclass
class Session:
    """One conversation; each chat session owns its own."""

    turns: list[Turn] = field(default_factory=list)
    scope: Scope = field(default_factory=Scope)  # set from the library tab; empty: every document


class Asker(Protocol):
    """What the UI and the eval need from the chat pipeline."""

    def ask(self, question: str, session: Session, audience: Audience = "clinician") -> Answer:
        """Answer one question in a session, and record the turn in it."""
        ...


@runtime_checkable
class StreamingAsker(Asker, Protocol):
    """An asker that can show generated text while it is being written (the chat uses it when offered)."""

    def ask_stream(self, question: str, session: Session, audience: Audience = "clinician") -> Iterator[Draft | Answer]:
        """Drafts as the text grows, then the verified Answer last (and the turn recorded in the session)."""
        ...
