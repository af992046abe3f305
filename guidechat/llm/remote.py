"""Models behind a server, through llama-index's LLM classes: any OpenAI-compatible server (vLLM, llama.cpp's
server, LM Studio, OpenAI) via OpenAILike, and Ollama. Each class is imported when its model is built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from guidechat.llm.base import LLMUnavailable, describe_error


class LlamaIndexChat:
    """A llama-index LLM as a ChatModel: every client error becomes LLMUnavailable naming the URL and model."""

    def __init__(self, llm: Any, backend: str, base_url: str, model: str, probe: Callable[[], None]) -> None:
        self.llm = llm
        self.backend, self.base_url, self.model = backend, base_url, model
        self.description = f"{backend} {model} at {base_url}"
        self._probe = probe

    def _unavailable(self, reason: str) -> LLMUnavailable:
        return LLMUnavailable(self.backend, self.base_url, self.model, reason)

    def stream(self, system: str, user: str) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage, MessageRole

        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        try:
            for response in self.llm.stream_chat(messages):
                if response.delta:
                    yield response.delta
        except LLMUnavailable:
            raise
        except Exception as exc:  # the clients raise their own hierarchies (openai, httpx, ollama)
            raise self._unavailable(_reason(exc)) from exc

    def check(self) -> None:
        try:
            self._probe()
        except LLMUnavailable:
            raise
        except (httpx.HTTPError, ValueError) as exc:
            raise self._unavailable(_reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if status == 404:
        return f"the server does not know this model ({describe_error(exc)})"
    if status in (401, 403):
        return f"the server refused the API key; set GUIDECHAT_LLM_API_KEY ({describe_error(exc)})"
    if isinstance(exc, httpx.ConnectError) or "connect" in type(exc).__name__.lower():
        return f"cannot connect ({describe_error(exc)})"
    return describe_error(exc)


def openai_like(
    base_url: str,
    model: str,
    api_key: str,
    timeout_s: float,
    max_tokens: int,
    temperature: float,
    context_window: int,
) -> LlamaIndexChat:
    from llama_index.llms.openai_like import OpenAILike

    base_url = base_url.rstrip("/")
    key = api_key or "not-needed"  # local servers ignore it; the client insists on one
    llm = OpenAILike(
        model=model,
        api_base=base_url,
        api_key=key,
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=context_window,
        max_tokens=max_tokens,
        temperature=temperature,
        timeout=timeout_s,
        max_retries=0,  # an unreachable server should show at once, not after retries
    )

    def probe() -> None:
        response = httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s)
        response.raise_for_status()

    return LlamaIndexChat(llm, "openai", base_url, model, probe)


def ollama(
    base_url: str, model: str, timeout_s: float, max_tokens: int, temperature: float, context_window: int
) -> LlamaIndexChat:
    from llama_index.llms.ollama import Ollama

    base_url = base_url.rstrip("/")
    llm = Ollama(
        model=model,
        base_url=base_url,
        temperature=temperature,
        context_window=context_window,
        request_timeout=timeout_s,
        additional_kwargs={"num_predict": max_tokens},
    )

    def probe() -> None:
        response = httpx.get(f"{base_url}/api/tags", timeout=timeout_s)
        response.raise_for_status()
        names = {m.get("name", "") for m in response.json().get("models", [])}
        if model not in names and f"{model}:latest" not in names:
            raise LLMUnavailable("ollama", base_url, model, "the server has no such model; run `ollama pull MODEL`")

    return LlamaIndexChat(llm, "ollama", base_url, model, probe)
