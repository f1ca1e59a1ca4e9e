"""The `llama.cpp` backend (default): llama-cpp-python on a GGUF, with warm per-language contexts."""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator

from core.errors import GeneratorError, UserError
from core.settings import Settings
from suggest.backends.base import INSTALL_HINT, LLAMA_SLOTS, REPEAT_PENALTY, Messages
from suggest.modelfiles import resolve_model

class LlamaCppGenerator:
    """llama-cpp-python on a GGUF, chat template from the file, streamed via `create_chat_completion`.

    A `Llama` context remembers the tokens of its previous prompt and evaluates only what follows the longest
    common prefix, so a byte-identical system prompt + examples prefix is processed once. Each distinct system
    prompt (one per shop language) gets its own context ("slot", up to `max_slots`, least recently used reused):
    the weights are memory-mapped and shared, each extra context costs about its KV cache (~130 MB measured at
    n_ctx 2048), and switching between Chinese and English requests keeps both prefixes warm. (llama-cpp-python's
    `LlamaRAMCache` was measured instead: saving the state after each reply cost 0.6-0.9 s, so it is not used.)"""

    name = "llama.cpp"

    def __init__(self, model_path: str | Path, *, n_threads: int = 1, n_ctx: int = 2048,
                 n_threads_batch: int | None = None, max_slots: int = LLAMA_SLOTS) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UserError(f"the llama.cpp backend needs llama-cpp-python; run `{INSTALL_HINT}`") from None
        self._Llama = Llama
        self.model_path = str(model_path)
        self.n_threads, self.n_ctx = n_threads, n_ctx
        self.n_threads_batch = n_threads_batch or n_threads
        self.max_slots = max(1, max_slots)
        self._slots: OrderedDict[str | None, Any] = OrderedDict()
        self._slots[None] = self._load()  # load one context now, so a bad model fails at once
        self._lock = threading.Lock()

    def _load(self) -> Any:
        try:
            return self._Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                               n_threads_batch=self.n_threads_batch, verbose=False)
        except (ValueError, RuntimeError, OSError) as e:
            raise UserError(f"llama.cpp cannot load {self.model_path}: {e}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> "LlamaCppGenerator":
        spec = resolve_model(settings)
        if spec.kind != "gguf":
            raise UserError(f"the llama.cpp backend needs a .gguf model, not {spec.location}; "
                            f"use --backend transformers for Hugging Face folders and ids")
        return cls(spec.location, n_threads=settings.llm_threads, n_ctx=settings.n_ctx)

    @property
    def llm(self) -> Any:
        """The most recently used `Llama` context (tokenizer access, inspection)."""
        return next(reversed(self._slots.values()))

    def _slot(self, messages: Messages) -> Any:
        key = messages[0]["content"] if messages and messages[0].get("role") == "system" else ""
        if key in self._slots:
            self._slots.move_to_end(key)
        elif None in self._slots:
            self._slots[key] = self._slots.pop(None)
        elif len(self._slots) < self.max_slots:
            self._slots[key] = self._load()
        else:
            self._slots[key] = self._slots.pop(next(iter(self._slots)))  # reuse the least recently used
        return self._slots[key]

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary (for tokens-per-second figures)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        with self._lock:  # a context serves one request at a time
            llm = self._slot(messages)
            try:
                chunks = llm.create_chat_completion(messages=messages, stream=True, max_tokens=max_new_tokens,
                                                    temperature=temperature, stop=stop or None,
                                                    repeat_penalty=REPEAT_PENALTY)
                for chunk in chunks:
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
            except ValueError as e:  # e.g. "Requested tokens (2100) exceed context window of 2048"
                raise GeneratorError(f"llama.cpp: {e}") from None

    def close(self) -> None:
        for llm in self._slots.values():
            close = getattr(llm, "close", None)
            if callable(close):
                close()
        self._slots.clear()


# ------------------------------------------------------------------------------------------- transformers
