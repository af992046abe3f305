"""The embedding model's forward pass on ONNX Runtime, for the question side (#5): answering a question then imports
neither torch nor transformers nor sentence-transformers (most of a cold start on 2 cores), and each pass is
faster. The graph is exported once from the model (torch.onnx) into a cache folder; tokenizing (the model's own
tokenizer.json), mean pooling over the attention mask and L2 normalisation are what sentence-transformers does for
this model, so the vectors are the same (tests/test_onnx_encoder.py). Ingest keeps sentence-transformers."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17


class UnsupportedModel(ValueError):
    """The model is not a plain BERT-style encoder with mean pooling, which is all this module reproduces."""


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "guidechat" / "onnx"


def _pipeline(model: Path) -> tuple[int, bool]:
    """(max_seq_length, normalize) when sentence-transformers runs the model as Transformer -> mean Pooling
    [-> Normalize]; UnsupportedModel otherwise."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model / "modules.json").read_text())]
        pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
        config = json.loads((model / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedModel(f"{model}: not a sentence-transformers model folder ({exc})") from exc
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modules[:2] != ["Transformer", "Pooling"] or modes != {"pooling_mode_mean_tokens"} or len(modules) > 3:
        raise UnsupportedModel(f"{model}: modules {modules}, pooling {sorted(modes)}")
    if config.get("do_lower_case"):
        raise UnsupportedModel(f"{model}: do_lower_case")
    return int(config.get("max_seq_length", 256)), modules[2:] == ["Normalize"]


def graph_path(model_path: str, cache: Path) -> Path:
    """Where the exported graph of this model lives: named by a digest of its weights and config files."""
    model = Path(model_path)
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = model / name
        if path.exists():
            digest.update(name.encode())
            digest.update(str(path.stat().st_size).encode())
            with path.open("rb") as f:
                digest.update(f.read(1 << 20))  # size and first MiB: enough to tell model files apart, and quick
    return cache / f"{model.name}-{digest.hexdigest()[:16]}-opset{_OPSET}.onnx"


def export(model_path: str, target: Path) -> Path:
    """Export the model's encoder (last hidden state) to ONNX, atomically (concurrent exporters are harmless)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_path).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    example = torch.ones((2, 8), dtype=torch.long)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes: the axes are declared dynamic below
        torch.onnx.export(LastHiddenState(), (example, example, torch.zeros_like(example)), str(tmp),
                          input_names=list(_INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=_OPSET, dynamo=False)
    os.replace(tmp, target)
    return target


def _quantizer_advice(record: logging.LogRecord) -> bool:
    """False for onnxruntime.quantization's own warnings (advice to pre-process the graph), true for the rest."""
    return "onnxruntime" not in record.pathname or record.levelno >= logging.ERROR


def quantize(graph: Path) -> Path:
    """An int8 copy of the exported graph beside it, made once: weights quantized per output channel, activations
    dynamically (per channel keeps its vectors within ~0.99 cosine of the float model's; per tensor, ~0.95)."""
    target = graph.with_name(graph.stem + "-int8.onnx")
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        log.info("quantizing %s to int8 once, into %s", graph.name, target)
        tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
        root = logging.getLogger()
        root.addFilter(_quantizer_advice)  # the quantizer logs advice on the root logger
        try:
            quantize_dynamic(graph, tmp, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(_quantizer_advice)
        os.replace(tmp, target)
    return target


class OnnxEncoder:
    """encode(texts) -> unit vectors, as SentenceTransformer.encode(texts, normalize_embeddings=True) gives
    (`int8`: an int8 copy of the model, about 2.4x less CPU, vectors near but not equal to those)."""

    def __init__(self, model_path: str, cache: Path | None = None, threads: int = 0, int8: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = Path(model_path)
        max_length, self.normalize = _pipeline(model)
        graph = graph_path(model_path, cache or default_cache())
        if not graph.exists():
            log.info("exporting %s to ONNX once, into %s", model.name, graph)
            export(model_path, graph)
        if int8:
            graph = quantize(graph)
        self.tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        pad = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # a server runs several answers at once on few cores: threads that spin while waiting would take their CPU
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int = 32) -> NDArray[np.float32]:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of similar length: less padding
        rows: list[NDArray[np.float32]] = [np.zeros(0, dtype=np.float32)] * len(texts)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i].strip() for i in batch])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            hidden = self.session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if self.normalize:
                pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for i, row in zip(batch, pooled.astype(np.float32), strict=True):
                rows[i] = row
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(rows)
