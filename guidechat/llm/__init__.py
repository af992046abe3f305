"""The language-model seam: chat models behind one small protocol. The client libraries (llama-index's
OpenAI-like and Ollama classes, llama-cpp-python) are imported only when a model is built."""

from guidechat.llm.base import ChatModel, LLMConfigError, LLMUnavailable
from guidechat.llm.factory import build_chat_model

__all__ = ["ChatModel", "LLMConfigError", "LLMUnavailable", "build_chat_model"]
