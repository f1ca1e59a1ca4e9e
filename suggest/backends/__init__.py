"""Generator backends behind one small interface: stream text pieces for a list of chat messages.

- `llama.cpp`   — llama-cpp-python on a GGUF (default; fastest on CPU). A `Llama` context per shop language keeps
                  the KV cache of its previous prompt, so the byte-identical prompt prefix is evaluated once.
- `transformers`— AutoModelForCausalLM on a GGUF (dequantised, `gguf_file=`) or an HF folder/id; CUDA if present.
- `openai`      — any OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama) over HTTP with SSE streaming.
- `fake`        — scripted replies for tests.

`get_generator(settings)` loads a model once per process (per backend, model, threads, n_ctx).

>>> g = make_generator(Settings(), "fake")
>>> "".join(g.stream([{"role": "user", "content": "hi"}], max_new_tokens=50, temperature=0.0))
'Thanks for your message, we will check and get back to you [1].'
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from core.errors import GeneratorError, UserError
from core.settings import Settings
from suggest.backends.base import Generator, Messages, StopFilter, close_generator
from suggest.backends.fake import FakeGenerator
from suggest.backends.hf_transformers import TransformersGenerator
from suggest.backends.llama_cpp import LlamaCppGenerator
from suggest.backends.openai_http import OpenAIHTTPGenerator, chat_completions_url

__all__ = ["BACKENDS", "FakeGenerator", "Generator", "GeneratorError", "LlamaCppGenerator", "Messages",
           "OpenAIHTTPGenerator", "StopFilter", "TransformersGenerator", "chat_completions_url", "check_backend_name",
           "clear_generators", "close_generator", "get_generator", "make_generator"]

# ----------------------------------------------------------------------------------------------- registry
Factory = Callable[[Settings], Generator]
BACKENDS: dict[str, Factory] = {
    "llama.cpp": LlamaCppGenerator.from_settings,
    "transformers": TransformersGenerator.from_settings,
    "openai": OpenAIHTTPGenerator.from_settings,
    "fake": lambda settings: FakeGenerator(),
}
HEAVY_BACKENDS = ("llama.cpp", "transformers")
_cache: dict[tuple[Any, ...], Generator] = {}
_cache_lock = threading.Lock()


def check_backend_name(name: str) -> str:
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; valid: {', '.join(sorted(BACKENDS))}")
    return name


def make_generator(settings: Settings, name: str | None = None) -> Generator:
    """A new generator for `name` (default `settings.backend`); unknown names are a UserError."""
    return BACKENDS[check_backend_name(name or settings.backend)](settings)


def cache_key(settings: Settings, name: str) -> tuple[Any, ...]:
    if name in HEAVY_BACKENDS:
        return (name, settings.model, settings.model_cache, settings.llm_threads, settings.n_ctx)
    return (name, settings.base_url, settings.api_model, settings.api_key, settings.http_timeout)


def get_generator(settings: Settings, name: str | None = None) -> Generator:
    """The process-wide generator for these settings: a model is loaded once per (backend, model, threads,
    n_ctx); the fake is never cached."""
    name = check_backend_name(name or settings.backend)
    if name == "fake":
        return make_generator(settings, name)
    key = cache_key(settings, name)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = make_generator(settings, name)
        return _cache[key]


def clear_generators() -> None:
    """Close and forget every cached generator."""
    with _cache_lock:
        for generator in _cache.values():
            close_generator(generator)
        _cache.clear()
