"""Settings -> ChatModel. Each backend's client library is imported inside its own builder."""

from __future__ import annotations

from guidechat.config import Settings
from guidechat.llm.base import ChatModel, LLMConfigError

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"


def build_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None for the extractive default (llm = "none").

    Nothing is contacted or loaded here: an unreachable server or a missing file shows at the first call
    (LLMUnavailable, and the chat falls back) or earlier through ChatModel.check()."""
    s = settings
    if s.llm == "none":
        return None
    if s.llm == "openai":
        if not s.llm_model:
            raise LLMConfigError("--llm openai needs a model name: --llm-model NAME (GUIDECHAT_LLM_MODEL)")
        from guidechat.llm.remote import openai_like

        return openai_like(
            base_url=s.llm_base_url or OPENAI_DEFAULT_URL,
            model=s.llm_model,
            api_key=s.llm_api_key.get_secret_value(),
            timeout_s=s.llm_timeout_s,
            max_tokens=s.llm_max_tokens,
            temperature=s.llm_temperature,
            context_window=s.llm_context_tokens,
        )
    if s.llm == "ollama":
        if not s.llm_model:
            raise LLMConfigError("--llm ollama needs a model name: --llm-model NAME (GUIDECHAT_LLM_MODEL)")
        from guidechat.llm.remote import ollama

        return ollama(
            base_url=s.llm_base_url or OLLAMA_DEFAULT_URL,
            model=s.llm_model,
            timeout_s=s.llm_timeout_s,
            max_tokens=s.llm_max_tokens,
            temperature=s.llm_temperature,
            context_window=s.llm_context_tokens,
        )
    if s.llm == "local":
        if not s.llm_model_path:
            raise LLMConfigError("--llm local needs a GGUF file: --llm-model-path FILE.gguf (GUIDECHAT_LLM_MODEL_PATH)")
        from guidechat.llm.local import LocalGGUF

        return LocalGGUF(
            s.llm_model_path,
            max_tokens=s.llm_max_tokens,
            temperature=s.llm_temperature,
            context_window=s.llm_context_tokens,
            threads=s.llm_threads,
        )
    raise LLMConfigError(f"unknown llm backend {s.llm!r}; choose none, openai, ollama or local")
