"""BM25 kept up to date from its previous self (#5): the same index as a fresh build, bm25s' own scores, earlier
saved formats rebuilt, acronyms; re-ingest that reuses what is stored (moved files' vectors, no Chroma on a no-op)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guidechat.index.bm25 import Bm25Index, _index
from guidechat.types import Chunk, DocMeta
from tests.conftest import SMALL_DOC, corpus_file

WORDS = (
    "radiation therapy to the chest raises the risk of heart disease years later; children treated with "
    "anthracyclines need echocardiograms, and fertility may be harmed by alkylating agents or pelvic radiation"
).split()
QUERIES = ("heart disease after chest radiation", "fertility alkylating agents", "echocardiograms children", "the of")


def _chunks(n: int, seed: int) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    meta = DocMeta(title="Late effects", url="https://example.org/x", publisher="t", audience=None, updated="",
                   source_path="/x.md")
    return [
        Chunk(id=f"c{seed}-{i}", doc_id="d", text=" ".join(rng.choice(WORDS, size=int(rng.integers(3, 40)))),
              doc=meta, section=(f"Section {i % 3}",), evidence=(), position=i)
        for i in range(n)
    ]


def _same(a: Bm25Index, b: Bm25Index) -> None:
    assert a._ids == b._ids
    for query in QUERIES:
        found, expected = a.search(query, 15), b.search(query, 15)
        assert [cid for cid, _ in found] == [cid for cid, _ in expected]
        assert np.allclose([s for _, s in found], [s for _, s in expected], rtol=0, atol=1e-6)
    for term in ("heart", "radiation", "unknown"):
        assert a.document_frequency(term) == b.document_frequency(term)


def test_whole_array_scores_equal_bm25s_own_index() -> None:
    import bm25s

    docs = [[f"w{int(x)}" for x in np.random.default_rng(i).integers(0, 50, size=i % 17)] for i in range(300)]
    vocab = sorted({w for d in docs for w in d})
    word_id = {w: i for i, w in enumerate(vocab)}
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    flat = np.array([word_id[w] for d in docs for w in d], dtype=np.int32)
    ours, theirs = bm25s.BM25(), bm25s.BM25()
    _index(ours, vocab, flat, lengths)
    theirs.index(([[word_id[w] for w in d] for d in docs], dict(word_id)), show_progress=False)
    for key in ("indices", "indptr"):
        assert np.array_equal(ours.scores[key], theirs.scores[key])
    assert np.array_equal(ours.scores["data"], theirs.scores["data"])
    assert ours.scores["num_docs"] == theirs.scores["num_docs"]
    assert ours.vocab_dict == theirs.vocab_dict


def test_an_updated_index_equals_a_fresh_build_and_reads_only_new_chunks(tmp_path: Path) -> None:
    old, extra = _chunks(120, 1), _chunks(30, 2)
    first = Bm25Index.build(old)
    first.save(tmp_path / "bm25", "one")
    loaded = Bm25Index.load(tmp_path / "bm25", "one")
    assert loaded is not None and Bm25Index.load(tmp_path / "bm25", "two") is None
    _same(loaded, first)

    edited = dataclasses.replace(old[5], id="edited", text=old[5].text + " heart heart")
    wanted = [*old[:5], edited, *old[6:100], *extra]  # one changed, twenty gone, thirty new
    asked: list[str] = []
    known = {c.id: c for c in wanted}

    def fetch(ids: list[str]) -> dict[str, Chunk]:
        asked.extend(ids)
        return {cid: known[cid] for cid in ids}

    updated = loaded.updated([c.id for c in wanted], fetch)
    assert sorted(asked) == sorted(["edited", *(c.id for c in extra)])
    _same(updated, Bm25Index.build(wanted))
    assert updated.updated([c.id for c in wanted], fetch)._ids == updated._ids  # nothing new: nothing fetched
    assert len(asked) == 31


def test_an_index_saved_in_an_earlier_format_is_rebuilt_from_every_chunk(tmp_path: Path) -> None:
    """Homes indexed before acronyms were kept (format 2) or before tokens were kept (format 1, llama-index's
    BM25Retriever.persist, no format field): neither searched nor reused."""
    chunks = _chunks(40, 3)
    Bm25Index.build(chunks).save(tmp_path / "bm25", "f")
    meta = tmp_path / "bm25" / "guidechat.json"
    assert Bm25Index.load(tmp_path / "bm25", "f") is not None
    for earlier in ('{"fingerprint": "f", "format": 2}', '{"fingerprint": "f"}'):
        meta.write_text(earlier)
        assert not Bm25Index.is_fresh(tmp_path / "bm25", "f")
        assert Bm25Index.load(tmp_path / "bm25", "f") is None
        assert Bm25Index.load(tmp_path / "bm25", None) is None, "its tokens are not reused"


def test_an_acronym_that_is_also_a_common_word_finds_its_own_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """"ALL" lower-cased is "all", in nearly every chunk; in capitals it is acute lymphoblastic leukemia. The
    capitals tokens leave every other query's scores as they were."""
    meta = DocMeta(title="t", url="https://example.org/x", publisher="t", audience=None, updated="", source_path="/x")
    texts = {
        "all": "Children with ALL receive induction, consolidation and maintenance therapy.",
        "aml": "Children with AML receive induction and consolidation therapy; all of them need transfusions.",
        **{f"other{i}": f"All patients in trial {i} receive all of the induction therapy." for i in range(6)},
    }
    chunks = [Chunk(id=cid, doc_id=cid, text=text, doc=meta, section=("S",), evidence=(), position=0)
              for cid, text in texts.items()]
    index = Bm25Index.build(chunks)
    assert index.search("diagnosed with ALL: what is the induction therapy?", 3)[0][0] == "all"
    assert index.search("diagnosed with AML: what is the induction therapy?", 3)[0][0] == "aml"
    assert index.search("aml induction", 3)[0][0] == "aml", "typed in lower case, the word still matches"
    assert index.search("zzz qqq", 3) == []

    import guidechat.index.bm25 as bm25_module

    monkeypatch.setattr(bm25_module, "ACRONYM", re.compile(r"(?!)"))
    without = Bm25Index.build(chunks)
    assert without.search("induction consolidation transfusions", 8) == index.search(
        "induction consolidation transfusions", 8
    )
    assert without.search("diagnosed with ALL: what is the induction therapy?", 3)[0][0] != "all"


@pytest.mark.slow
def test_a_moved_folder_reuses_stored_vectors_and_a_no_op_leaves_chroma_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guidechat.config import Settings
    from guidechat.index.embed import Embedder
    from guidechat.index.indexer import IndexHome, ingest

    first, moved = tmp_path / "first", tmp_path / "moved"
    first.mkdir()
    shutil.copy(corpus_file(SMALL_DOC), first / "doc.md")
    settings = Settings(home=tmp_path / "home")
    home = IndexHome(settings)
    added = ingest(home, [first], progress=False)
    assert added.chunks_added > 0

    idle = IndexHome(settings)
    assert ingest(idle, [first], progress=False).unchanged == 1
    assert idle._store is None, "a no-op with the store known to be clean does not open Chroma"

    first.rename(moved)
    embedded: list[str] = []
    real = Embedder.embed_passages

    def counted(self: Embedder, texts: list[str], *args: Any, **kwargs: Any) -> list[list[float]]:
        embedded.extend(texts)
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(Embedder, "embed_passages", counted)
    again = IndexHome(settings)
    report = ingest(again, [moved], prune=True, progress=False)
    assert (report.new, report.pruned, report.chunks_added) == (1, 1, added.chunks_added)
    assert report.vectors_reused == added.chunks_added and embedded == []
    ids = sorted(again.manifest().chunk_ids())
    assert again.store.ids() == set(ids) and len(again.load_bm25()) == len(ids)
    stored = again.store.vectors(ids)
    probe = next(iter(stored.values()))
    from guidechat.index.records import embedding_text

    fresh = again.embedder.embed_passages([embedding_text(probe[0])])[0]
    assert np.allclose(probe[1], fresh, atol=1e-5)
