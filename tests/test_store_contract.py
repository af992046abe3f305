"""The store contract, run alike against embedded Chroma and a real Chroma server (`chroma run`) that the
module starts and stops: vectors and metadata round-trip, the manifest round-trips, ingest is incremental and
recovers from a crash at either commit point. Server mode adds the shared-index follower."""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from guidechat.config import Settings
from guidechat.index.embed import Embedder
from guidechat.index.indexer import IndexHome, ingest
from guidechat.index.manifest import DocEntry, Manifest
from guidechat.index.store import IndexUnavailable
from guidechat.types import Audience, Chunk, DocMeta
from tests.chroma_helpers import LIVER_DOC, LIVER_QUESTION, chroma_server
from tests.conftest import SMALL_DOC, corpus_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


@pytest.fixture(params=["embedded", "server"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A fresh index of either kind; on the server, a collection of its own."""
    if request.param == "embedded":
        return Settings(home=tmp_path / "home")
    url = request.getfixturevalue("chroma_url")
    return Settings(home=tmp_path / "home", chroma_url=url, collection=f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    s = Settings()
    return Embedder(s.resolved_embed_model(), s.embed_batch_size, s.embed_threads)


def _home(settings: Settings, embedder: Embedder) -> IndexHome:
    home = IndexHome(settings)
    home._embedder = embedder  # one model load for the module
    return home


def _chunk(i: int, audience: Audience | None) -> Chunk:
    doc = DocMeta(title=f"Doc {i}", url=f"https://example.org/{i}", publisher="P", audience=audience,
                  updated=f"2024-01-0{i + 1}", source_path=f"/docs/{i}.md")
    return Chunk(id=f"chunk-{i}", doc_id=f"doc-{i}", text=f"Text of passage {i}.", doc=doc,
                 section=("Top", f"Part {i}"), evidence=("A1",) if i == 0 else (), position=i)


def _unit(i: int, dim: int = 8) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(dim)]


def test_vectors_and_metadata_round_trip(settings: Settings) -> None:
    store = IndexHome(settings).store
    chunks = [_chunk(0, "clinician"), _chunk(1, "patient"), _chunk(2, None)]
    store.add(chunks, [_unit(i) for i in range(3)])

    assert store.count() == 3 and store.ids() == {c.id for c in chunks}
    assert store.get([c.id for c in chunks]) == {c.id: c for c in chunks}
    assert sorted(store.all_chunks(), key=lambda c: c.id) == chunks

    nearest = store.query(_unit(0), 3)
    assert nearest[0][0] == chunks[0] and math.isclose(nearest[0][1], 1.0, abs_tol=1e-5)
    for_clinicians = {c.id for c, _ in store.query(_unit(1), 3, "clinician")}
    assert for_clinicians == {"chunk-0", "chunk-2"}, "the patient document is filtered out, 'any' stays"
    nearest_all, nearest_pref = store.nearest(_unit(1), 3, "clinician")
    assert nearest_all[0][0] == chunks[1] and {c.id for c, _ in nearest_all} == {c.id for c in chunks}
    assert {c.id for c, _ in nearest_pref} == for_clinicians

    store.delete(["chunk-0"])
    assert store.ids() == {"chunk-1", "chunk-2"} and store.get(["chunk-0"]) == {}
    store.reset()
    assert store.count() == 0 and store.query(_unit(1), 3) == []


def test_manifest_round_trip(settings: Settings) -> None:
    entry = DocEntry("/docs/a.md", "f" * 64, "doc-a", "https://example.org/a", "A", "clinician", ["c1", "c2"])
    other = DocEntry("/docs/b.md", "e" * 64, "doc-b", "https://example.org/b", "B", "any", ["c3"])
    saved = Manifest(fingerprint={"chunker": 1, "embed_model": "m"}, documents={"/docs/a.md": entry,
                                                                              "/docs/b.md": other})
    IndexHome(settings).save_manifest(saved)
    loaded = IndexHome(settings).manifest()
    assert loaded.documents == saved.documents and loaded.fingerprint == saved.fingerprint
    assert loaded.digest() == saved.digest()

    del loaded.documents["/docs/b.md"]
    IndexHome(settings).save_manifest(loaded)
    assert set(IndexHome(settings).manifest().documents) == {"/docs/a.md"}


def test_ingest_is_incremental(settings: Settings, embedder: Embedder, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    target = docs / "testicular.md"
    shutil.copy(corpus_file(SMALL_DOC), target)
    home = _home(settings, embedder)

    first = ingest(home, [docs], progress=False)
    assert first.new == 1 and first.chunks_added > 0
    assert home.store.ids() == home.manifest().chunk_ids()
    again = ingest(home, [docs], progress=False)
    assert (again.unchanged, again.chunks_added, again.chunks_removed) == (1, 0, 0)

    marker = "Testicular cancer can usually be cured."
    target.write_text(target.read_text(encoding="utf-8").replace(marker, "Usually curable (edited for the test)."))
    changed = ingest(home, [docs], progress=False)
    assert changed.changed == 1 and 0 < changed.chunks_added < first.chunks_added
    assert home.store.ids() == IndexHome(settings).manifest().chunk_ids()
    texts = " ".join(c.text for c in home.store.all_chunks())
    assert "edited for the test" in texts and marker not in texts

    target.unlink()
    pruned = ingest(home, [docs], prune=True, progress=False)
    assert pruned.pruned == 1 and home.store.count() == 0 and not IndexHome(settings).manifest().documents


def test_interrupted_ingest_loses_nothing_and_the_next_one_cleans_up(
    settings: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    target = docs / "testicular.md"
    shutil.copy(corpus_file(SMALL_DOC), target)
    home = _home(settings, embedder)
    ingest(home, [docs], progress=False)
    target.write_text(target.read_text(encoding="utf-8").replace("Testicular", "Testicular (edited)", 3))

    def crash(*_: object) -> None:
        raise RuntimeError("simulated crash")

    # crash after the new chunks are stored and recorded, before the stale ones are deleted
    monkeypatch.setattr(home.store, "delete", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(home, [docs], progress=False)
    monkeypatch.undo()
    after_crash = _home(settings, embedder)
    recorded = after_crash.manifest().chunk_ids()
    assert recorded < after_crash.store.ids(), "the new chunks are recorded; the stale ones linger as orphans"

    clean = ingest(after_crash, [docs], progress=False)
    assert clean.unchanged == 1 and clean.chunks_removed > 0
    assert after_crash.store.ids() == after_crash.manifest().chunk_ids() == recorded


def test_a_replica_takes_up_another_process_ingest(chroma_url: str, embedder: Embedder, tmp_path: Path) -> None:
    """In-process and deterministic (the follower is polled by hand); tests/test_replicas.py does it with two
    real app processes."""
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.types import Session

    settings = Settings(home=tmp_path / "replica", chroma_url=chroma_url, collection=f"t-{uuid.uuid4().hex[:12]}",
                        index_refresh_seconds=3600)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(corpus_file(SMALL_DOC), docs / "testicular.md")
    ingest(_home(settings, embedder), [docs], progress=False)
    replica = ChatPipeline(_home(settings, embedder))
    try:
        before = replica.ask(LIVER_QUESTION, Session())
        assert not any("liver" in c.url for c in before.citations)
        indexed = len(replica.retriever.bm25)

        # chunks stored by an ingest that has not committed them are not the replica's business
        replica.home.store.add([_chunk(0, "clinician")], [[1.0] + [0.0] * 383])
        assert replica.follower is not None and not replica.follower.poll()

        writer = _home(settings.model_copy(update={"home": tmp_path / "writer"}), embedder)
        shutil.copy(corpus_file(LIVER_DOC), docs / "liver.md")
        report = ingest(writer, [docs], progress=False)
        assert report.new == 1 and report.chunks_removed == 1, "the uncommitted chunk was an orphan"
        assert replica.follower.poll(), "the replica sees the new generation"
        assert len(replica.retriever.bm25) == indexed + report.chunks_added
        after = replica.ask(LIVER_QUESTION, Session())
        assert not after.abstained and any("liver-screening" in c.url for c in after.citations)
        assert not replica.follower.poll(), "nothing new since"
    finally:
        replica.close()


def test_shared_generation_moves_only_when_something_changed(chroma_url: str, tmp_path: Path) -> None:
    home = IndexHome(Settings(home=tmp_path, chroma_url=chroma_url, collection=f"t-{uuid.uuid4().hex[:12]}"))
    shared = home._shared.manifest
    assert shared.generation() == ""
    manifest = Manifest(fingerprint={"chunker": 1})
    manifest.documents["/d.md"] = DocEntry("/d.md", "a" * 64, "d", "https://example.org/d", "D", "any", ["c"])
    home.save_manifest(manifest)
    first = shared.generation()
    assert first.startswith("1:")
    home.save_manifest(manifest)
    assert shared.generation() == first, "an unchanged manifest is not written again"
    manifest.documents["/d.md"].sha256 = "b" * 64
    IndexHome(home.settings).save_manifest(manifest)  # another process
    assert shared.generation().startswith("2:")


def test_a_bad_or_unreachable_chroma_url_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guidechat.cli import main

    with pytest.raises(IndexUnavailable, match="chroma_url 'localhost:8000': expected http://HOST:PORT"):
        _ = IndexHome(Settings(home=tmp_path, chroma_url="localhost:8000")).store
    assert main(["--home", str(tmp_path), "status", "--chroma-url", "http://127.0.0.1:9"]) == 1
    assert "chroma_url http://127.0.0.1:9: cannot reach the Chroma server" in capsys.readouterr().err
