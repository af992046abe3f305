"""What the chat needs from a language model, and the errors it raises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class LLMConfigError(ValueError):
    """The settings do not describe a usable model (a required setting is missing)."""


class LLMUnavailable(RuntimeError):
    """The model cannot answer: its server is unreachable, the model is missing, or the call failed."""

    def __init__(self, backend: str, where: str, model: str, reason: str) -> None:
        self.backend, self.where, self.model, self.reason = backend, where, model, reason
        name = f"model {model!r} " if model else "model "
        super().__init__(f"{backend} {name}at {where} is unavailable: {reason}")


class ChatModel(Protocol):
    """A chat model: a system and a user message in, the reply's text out, piece by piece."""

    description: str  # e.g. "openai smollm2 at http://127.0.0.1:8080/v1"

    def stream(self, system: str, user: str) -> Iterator[str]:
        """The reply as it is generated; raises LLMUnavailable."""
        ...

    def check(self) -> None:
        """Raise LLMUnavailable unless the model can be reached (and, where the server says, exists)."""
        ...


def complete(model: ChatModel, system: str, user: str) -> str:
    return "".join(model.stream(system, user))


def describe_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
