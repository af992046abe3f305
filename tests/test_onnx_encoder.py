"""Questions and answer sentences on ONNX Runtime (#5): the same vectors as sentence-transformers, no torch when
answering, and a clear fallback for a model the exporter does not reproduce."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guidechat.config import Settings
from guidechat.index.onnx_encoder import OnnxEncoder, UnsupportedModel, graph_path

TEXTS = [
    "What is the utility of MRI in stage IV breast cancer?",
    "   Tamoxifen is the standard adjuvant therapy for men.  ",
    "Über café naïve résumé, “quotes”, ALL CAPS and 5 mg/m² doses",
    "screening " * 400,  # past the model's 256-token window: truncated the same way
    "x",
]


@pytest.mark.slow
def test_onnx_vectors_equal_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    path = Settings().resolved_embed_model()
    encoder = OnnxEncoder(path, tmp_path)
    assert graph_path(path, tmp_path).exists(), "exported once into the cache"
    ours = encoder.encode(TEXTS, batch_size=2)
    theirs = SentenceTransformer(path, device="cpu").encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert encoder.encode([]).size == 0


@pytest.mark.slow
def test_embedder_backends_agree_and_answering_never_imports_torch(slice_home: Path) -> None:
    from guidechat.index.embed import Embedder

    path = Settings().resolved_embed_model()
    onnx, torch_backend = Embedder(path), Embedder(path, query_backend="torch")
    question = "Is MRI safe during pregnancy?"
    np.testing.assert_allclose(onnx.embed_query(question), torch_backend.embed_query(question), atol=1e-5)
    np.testing.assert_allclose(onnx.embed_sentences(TEXTS[:3]), torch_backend.embed_sentences(TEXTS[:3]), atol=1e-5)

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from guidechat.chat.pipeline import ChatPipeline\n"
        "from guidechat.config import Settings\n"
        "from guidechat.types import Session\n"
        f"answer = ChatPipeline.from_settings(Settings(home=Path({str(slice_home)!r}))).ask({question!r}, Session())\n"
        "print(len(answer.citations), sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers',"
        " 'sentence_transformers', 'llama_index', 'gradio'}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    cited, imported = run.stdout.strip().split(" ", 1)
    assert int(cited) > 0, run.stdout
    assert imported == "[]", imported


def test_a_model_other_than_mean_pooled_bert_is_refused_by_name(tmp_path: Path) -> None:
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "modules.json").write_text(json.dumps([
        {"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Pooling"}]))
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (model / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    with pytest.raises(UnsupportedModel, match="cls-model"):
        OnnxEncoder(str(model), tmp_path / "cache")
    with pytest.raises(UnsupportedModel, match="not a sentence-transformers model folder"):
        OnnxEncoder(str(tmp_path / "missing"), tmp_path / "cache")


def test_an_embedder_falls_back_to_sentence_transformers_when_onnx_cannot_be_had(tmp_path: Path) -> None:
    from guidechat.index.embed import Embedder

    model = tmp_path / "model"
    model.mkdir()
    embedder = Embedder(str(model))
    embedder._st = sentinel = object()  # stands in for the SentenceTransformer: only its identity is checked
    assert embedder._question_encoder is sentinel


@pytest.mark.slow
def test_a_small_ingest_needs_no_torch_and_gets_the_same_counts_and_vectors() -> None:
    from sentence_transformers import SentenceTransformer

    from guidechat.index.embed import Embedder
    from tests.conftest import SMALL_DOC, corpus_file

    path = Settings().resolved_embed_model()
    lines = [line for line in corpus_file(SMALL_DOC).read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder = Embedder(path)
    model = SentenceTransformer(path, device="cpu")
    for text in [*lines, *TEXTS]:
        assert embedder.count_tokens(text) == len(model.tokenizer.encode(text, add_special_tokens=False)), text
    vectors = embedder.embed_passages(lines[:10])
    assert embedder._st is None, "ten chunks were embedded without loading sentence-transformers"
    np.testing.assert_allclose(vectors, model.encode(lines[:10], normalize_embeddings=True), atol=1e-5)
