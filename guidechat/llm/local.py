"""An in-process GGUF model through llama-cpp-python (the `local` extra), with the chat template the file
carries. Loaded on first use; one generation at a time (a llama.cpp context is not thread-safe)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guidechat.llm.base import LLMUnavailable, describe_error

REPEAT_PENALTY = 1.1  # llama.cpp server's default; without it small models loop on greedy decoding


class LocalGGUF:
    def __init__(
        self, path: str, max_tokens: int, temperature: float, context_window: int, threads: int = 0
    ) -> None:
        self.path = Path(path).expanduser()
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.context_window = context_window
        self.threads = threads
        self.description = f"local {self.path.name}"
        self._llama: Any = None
        self._lock = threading.Lock()

    def _unavailable(self, reason: str) -> LLMUnavailable:
        return LLMUnavailable("local", str(self.path), "", reason)

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        if not self.path.is_file():
            raise self._unavailable("no such GGUF file")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise self._unavailable("llama-cpp-python is not installed: pip install 'guidechat[local]'") from exc
        try:
            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=self.context_window,
                n_threads=self.threads or None,
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise self._unavailable(f"cannot load it: {describe_error(exc)}") from exc
        return self._llama

    def check(self) -> None:
        with self._lock:
            self._load()

    def stream(self, system: str, user: str) -> Iterator[str]:
        with self._lock:
            llama = self._load()
            try:
                chunks = llama.create_chat_completion(
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                    stream=True,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    repeat_penalty=REPEAT_PENALTY,
                )
                for chunk in chunks:
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text:
                        yield text
            except (ValueError, RuntimeError) as exc:  # e.g. the prompt exceeds the context window
                raise self._unavailable(describe_error(exc)) from exc
