"""The speed work (#5) on composing: sentence vectors cached by text, and only a shortlist of sentences embedded."""

from __future__ import annotations

import numpy as np
import pytest

from guidechat.chat.compose import ExtractiveComposer
from guidechat.chat.terms import TermWeights
from guidechat.index.embed import _Unbatched
from guidechat.types import Chunk, DocMeta, Passage


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    from guidechat.config import Settings
    from guidechat.index.embed import Embedder

    return Embedder(Settings().resolved_embed_model())


@pytest.mark.slow
def test_sentence_vectors_are_cached_by_text_and_match_a_fresh_encoding(embedder) -> None:  # type: ignore[no-untyped-def]
    texts = ["Tamoxifen is the standard adjuvant therapy for men.", "MRI is safe in pregnancy without contrast."]
    before = embedder._sentences.misses
    first = embedder.embed_sentences([texts[0], texts[1], texts[0]])
    assert first.shape == (3, 384)
    assert embedder._sentences.misses - before == 2, "a text repeated in one call is embedded once"
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first[0], first[2])

    hits = embedder._sentences.hits
    again = embedder.embed_sentences([texts[1], texts[0]])
    assert embedder._sentences.hits - hits == 2 and embedder._sentences.misses - before == 2
    np.testing.assert_array_equal(again, first[[1, 0]])
    fresh = embedder._encoder.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(first[:2], fresh, atol=1e-5)
    assert embedder.embed_sentences([]).size == 0


def _passage(text: str) -> Passage:
    doc = DocMeta(title="Doc", url="https://example.org/doc", updated="2024-01-01")
    return Passage(chunk=Chunk(id="c1", doc_id="d1", text=text, doc=doc, section=("Treatment",)), score=1.0)


def test_only_the_lexically_best_sentences_are_embedded() -> None:
    sentences = [f"Sentence number {i} talks about filler words only here." for i in range(10)]
    sentences.insert(4, "Tamoxifen is the standard adjuvant therapy for men with breast cancer.")
    embedded: list[list[str]] = []

    def embed_sentences(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        embedded.append(texts)
        return np.array([[1.0, 0.0] if "Tamoxifen" in t else [0.0, 1.0] for t in texts], dtype=np.float32)

    composer = ExtractiveComposer(
        TermWeights(lambda term: 1, 100), lambda q: [1.0, 0.0], embed_sentences, shortlist=3, min_score=0.0
    )
    chosen = composer.select("tamoxifen adjuvant therapy in men", [_passage(" ".join(sentences))])
    assert len(embedded) == 1 and len(embedded[0]) == 3
    assert embedded[0][0].startswith("Tamoxifen"), "the sentence holding the question's words is on the shortlist"
    assert chosen[0].text.startswith("Tamoxifen")


@pytest.mark.slow
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_audience_query_from_an_unfiltered_scan_equals_chromas_filtered_query(slice_home, audience) -> None:  # type: ignore[no-untyped-def]
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome

    home = IndexHome(Settings(home=slice_home))
    store = home.store
    for question in ("Is MRI safe during pregnancy?", "How are testicular cancers found early?"):
        vector = home.embedder.embed_query(question)
        for n in (3, 40, store.count() + 5):
            scanned = store.query(vector, n, audience)
            store_filtered = store._nearest_of_audience  # the fallback alone: Chroma's own filter
            store._nearest_of_audience = lambda *args: None  # type: ignore[method-assign]
            try:
                filtered = store.query(vector, n, audience)
            finally:
                store._nearest_of_audience = store_filtered  # type: ignore[method-assign]
            assert [c.id for c, _ in scanned] == [c.id for c, _ in filtered]
            assert [c for c, _ in scanned] == [c for c, _ in filtered], "the same chunks, metadata and all"
            assert [s for _, s in scanned] == pytest.approx([s for _, s in filtered], abs=1e-5)
            assert all(c.doc.audience in (audience, None) for c, _ in scanned)
            nearest_all, nearest_pref = store.nearest(vector, n, audience)  # what the retriever asks: one scan
            assert [c for c, _ in nearest_pref] == [c for c, _ in filtered]
            everything = store.query(vector, n)
            assert [c for c, _ in nearest_all] == [c for c, _ in everything]
            assert [s for _, s in nearest_all] == pytest.approx([s for _, s in everything], abs=1e-5)


@pytest.mark.slow
def test_int8_sentence_vectors_rank_like_the_float_model_and_share_its_space_with_the_question() -> None:
    from guidechat.config import Settings
    from guidechat.index.embed import Embedder

    fp32 = Embedder(Settings().resolved_embed_model())
    int8 = Embedder(Settings().resolved_embed_model(), sentence_vectors="int8")
    assert fp32.embed_question_for_sentences("MRI in breast cancer") == fp32.embed_query("MRI in breast cancer")
    question = "Is tamoxifen used as adjuvant therapy for men with breast cancer?"
    sentences = [
        "Tamoxifen is the standard adjuvant hormone therapy for men with breast cancer.",
        "Scalp cooling can reduce hair loss during chemotherapy.",
        "Neuroblastoma is the most common extracranial solid tumor of childhood.",
    ]
    rows = int8.embed_sentences(sentences)
    q = np.asarray(int8.embed_question_for_sentences(question), dtype=np.float32)
    np.testing.assert_allclose(np.linalg.norm(q), 1.0, atol=1e-4)
    cosines = rows @ q
    assert int(np.argmax(cosines)) == 0
    exact = fp32.embed_sentences(sentences)
    assert not np.allclose(rows, exact, atol=1e-4), "the int8 copy is really a different (quantized) model"
    agreement = np.sum(rows * exact, axis=1)
    assert np.all(agreement > 0.97), agreement  # ONNX Runtime's per-channel int8 graph; measured 0.988-0.995
    # retrieval keeps the float model: the question's retrieval vector is unchanged
    assert int8.embed_query(question) == fp32.embed_query(question)
    assert isinstance(int8._sentence_encoder, _Unbatched), "int8 sentences run on ONNX Runtime, not torch"


@pytest.mark.slow
def test_the_int8_graph_is_made_once_beside_the_float_graph(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from guidechat.config import Settings
    from guidechat.index.onnx_encoder import OnnxEncoder, default_cache, graph_path, quantize

    model = Settings().resolved_embed_model()
    OnnxEncoder(model)  # the float graph, exported once into the cache
    graph = tmp_path / "model.onnx"
    graph.write_bytes(graph_path(model, default_cache()).read_bytes())
    made = quantize(graph)
    assert made == tmp_path / "model-int8.onnx" and made.stat().st_size < graph.stat().st_size / 3
    stamp = made.stat().st_mtime_ns
    assert quantize(graph) == made and made.stat().st_mtime_ns == stamp, "an existing int8 graph is reused"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-int8.onnx", "model.onnx"]  # no temporary left


@pytest.mark.slow
def test_vectors_are_llama_index_huggingface_embeddings_without_importing_llama_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from guidechat.config import Settings
    from guidechat.index.embed import Embedder

    path = Settings().resolved_embed_model()
    texts = ["Tamoxifen is the standard adjuvant therapy for men.", "Scalp cooling reduces hair loss. " * 40]
    ours = Embedder(path, batch_size=8)
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    theirs = HuggingFaceEmbedding(model_name=path, device="cpu", embed_batch_size=8, normalize=True)
    np.testing.assert_allclose(ours.embed_passages(texts), theirs.get_text_embedding_batch(texts), atol=1e-6)
    np.testing.assert_allclose(ours.embed_query(texts[0]), theirs.get_query_embedding(texts[0]), atol=1e-6)

    # an embedder and a question's retrieval in a fresh process: llama-index stays unimported
    script = (
        "import sys\n"
        "from guidechat.config import Settings\n"
        "from guidechat.index.embed import Embedder\n"
        "Embedder(Settings().resolved_embed_model()).embed_query('MRI in stage IV breast cancer')\n"
        "print(sorted(m for m in sys.modules if m.startswith('llama_index')))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
