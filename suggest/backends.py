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

import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, Union, runtime_checkable

from core.errors import GeneratorError, UserError
from suggest.modelfiles import ModelSpec, resolve_model
from core.settings import Settings

Messages = list[dict[str, str]]
INSTALL_HINT = "pip install -r requirements.txt"
HTTP_CONNECT_TIMEOUT_S = 10.0
HTTP_ERROR_SNIPPET_CHARS = 200
# Mild penalty on tokens repeated within llama.cpp's last 64: without it the 0.5B model sometimes loops on one
# sentence until max_new_tokens. Not used with transformers, whose penalty covers the whole prompt and so
# discourages copying facts from the passages (measured: a wrong, uncited reply); an OpenAI-compatible server
# keeps its own sampling defaults.
REPEAT_PENALTY = 1.1
LLAMA_SLOTS = 2  # llama.cpp contexts kept warm: one per distinct system prompt (shop language)
FAKE_DEFAULT_REPLY = "Thanks for your message, we will check and get back to you [1]."


@runtime_checkable
class Generator(Protocol):
    """Streams the reply to `messages` as text pieces."""

    name: str

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]: ...


def close_generator(generator: Any) -> None:
    """Call `close()` when the generator has one."""
    close = getattr(generator, "close", None)
    if callable(close):
        close()


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop or () if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class StopFilter:
    """Feeds streamed pieces, releases text that cannot be the start of a stop string, stops at one."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in stop or () if s]
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.pending += piece
        text, found = _cut_at_stop(self.pending, self.stop)
        if found:
            self.stopped, self.pending = True, ""
            return text
        hold = max((k for s in self.stop for k in range(1, len(s)) if self.pending.endswith(s[:k])), default=0)
        out, self.pending = self.pending[: len(self.pending) - hold], self.pending[len(self.pending) - hold:]
        return out

    def flush(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


# --------------------------------------------------------------------------------------------------- fake
Script = Union[Sequence[Union[str, BaseException]], Callable[[Messages], str]]
_WORD = re.compile(r"[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+\s*|\s+")


class FakeGenerator:
    """Scripted generator: replies from a list (in turn; an exception in the list is raised) or from
    `script(messages)`. Streams word by word (one piece per CJK character); `calls` records every prompt."""

    name = "fake"

    def __init__(self, script: Script | None = None, *, raise_after: int | None = None,
                 error: BaseException | None = None) -> None:
        self.script: Script = script if script is not None else [FAKE_DEFAULT_REPLY]
        self.raise_after = raise_after  # raise `error` after this many pieces of every reply
        self.error = error or GeneratorError("fake backend failure")
        self.calls: list[Messages] = []
        self.closed = False

    def _next_reply(self, messages: Messages) -> str:
        if callable(self.script):
            return self.script(messages)
        if not self.script:
            raise GeneratorError("fake backend has no scripted reply")
        item = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        if isinstance(item, BaseException):
            raise item
        return item

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        self.calls.append([dict(m) for m in messages])
        reply = _cut_at_stop(self._next_reply(messages), stop)[0]
        for i, piece in enumerate(_WORD.findall(reply)[:max_new_tokens]):
            if self.raise_after is not None and i >= self.raise_after:
                raise self.error
            yield piece

    def close(self) -> None:
        self.closed = True


# ---------------------------------------------------------------------------------------------- llama.cpp
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
class TransformersGenerator:
    """transformers AutoModelForCausalLM: a GGUF (dequantised to fp32 by `gguf_file=`), a local HF folder or a hub
    id. Streams through `TextIteratorStreamer` with `generate` in a worker thread; uses CUDA when available."""

    name = "transformers"

    def __init__(self, spec: ModelSpec, *, n_threads: int = 1) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise UserError(f"the transformers backend needs torch and transformers; run `{INSTALL_HINT}`") from None
        torch.set_num_threads(n_threads)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        kwargs: dict[str, Any] = {}
        if spec.kind == "gguf":
            path = Path(spec.location)
            source, kwargs["gguf_file"] = str(path.parent), path.name
        else:
            source = spec.location
        if spec.kind != "hf_id":
            kwargs["local_files_only"] = True  # a local file or folder must never trigger a download
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs).to(self.device)
        except (OSError, ValueError, RuntimeError) as e:
            hint = (" (a Hugging Face id needs hub access or a prior download; offline, use a .gguf file or a "
                    "local model folder)" if spec.kind == "hf_id" else "")
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(f"transformers cannot load {spec.location}: {first}{hint}") from None
        self.model.eval()
        self._torch = torch
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "TransformersGenerator":
        return cls(resolve_model(settings), n_threads=settings.llm_threads)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary (for tokens-per-second figures)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        halt = threading.Event()

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return self_torch.full((input_ids.shape[0],), halt.is_set(), dtype=self_torch.bool,
                                       device=input_ids.device)

        self_torch = self._torch
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with self_torch.inference_mode():
                    self.model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens,
                                        stopping_criteria=StoppingCriteriaList([_Halt()]),
                                        pad_token_id=self.tokenizer.eos_token_id, **sampling)
            except BaseException as e:  # re-raised in the consumer
                failure.append(e)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=work, name="transformers-generate", daemon=True)
            worker.start()
            filt = StopFilter(stop)
            ended = False  # the streamer signalled the end (iterating it again would block)
            try:
                for piece in streamer:
                    out = filt.feed(piece)
                    if out:
                        yield out
                    if filt.stopped:
                        break
                else:
                    ended = True
                tail = filt.flush()
                if tail:
                    yield tail
            finally:
                halt.set()  # a stop string or an abandoned stream: let generate() return at the next token
                if not ended:
                    for _ in streamer:  # drain until generate() signals its end
                        pass
                worker.join()
        if failure:
            raise GeneratorError(f"transformers generation failed: {failure[0]}") from None


# ------------------------------------------------------------------------------------------------- openai
def chat_completions_url(base_url: str) -> str:
    """`http://h:8000` or `http://h:8000/v1` → `http://h:8000/v1/chat/completions`."""
    base = base_url.rstrip("/")
    return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


class OpenAIHTTPGenerator:
    """An OpenAI-compatible `/v1/chat/completions` endpoint, streamed (SSE `data:` lines) with httpx."""

    name = "openai"

    def __init__(self, base_url: str, *, model: str = "default", api_key: str = "", timeout: float = 60.0) -> None:
        if not base_url:
            raise UserError("the openai backend needs a server address: set --base-url (or COPILOT_BASE_URL), "
                            "e.g. http://127.0.0.1:8000/v1")
        import httpx

        self.url = chat_completions_url(base_url)
        self.model = model
        self.timeout = timeout
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._httpx = httpx
        self.client = httpx.Client(headers=headers,
                                   timeout=httpx.Timeout(timeout, connect=min(timeout, HTTP_CONNECT_TIMEOUT_S)))

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIHTTPGenerator":
        return cls(settings.base_url, model=settings.api_model, api_key=settings.api_key,
                   timeout=settings.http_timeout)

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        httpx = self._httpx
        payload: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True,
                                   "max_tokens": max_new_tokens, "temperature": temperature}
        if stop:
            payload["stop"] = stop
        try:
            with self.client.stream("POST", self.url, json=payload) as response:
                if response.status_code >= 400:
                    body = response.read().decode("utf-8", "replace")
                    snippet = " ".join(body.split())[:HTTP_ERROR_SNIPPET_CHARS]
                    raise GeneratorError(f"HTTP backend {self.url} answered {response.status_code}"
                                         + (f": {snippet}" if snippet else ""))
                yield from self._events(response.iter_lines())
        except httpx.TimeoutException:
            raise GeneratorError(f"HTTP backend {self.url} timed out after {self.timeout:g} s") from None
        except httpx.ConnectError as e:
            raise GeneratorError(f"cannot connect to HTTP backend {self.url} ({e or 'connection refused'})") from None
        except httpx.HTTPError as e:
            raise GeneratorError(f"HTTP backend {self.url} failed: {type(e).__name__}: {e}") from None

    def _events(self, lines: Iterator[str]) -> Iterator[str]:
        seen_data = False
        for line in lines:
            line = line.strip()
            if not line or line.startswith(":") or not line.startswith("data:"):
                continue  # blank separators, comments, `event:`/`id:` fields
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                return
            seen_data = True
            try:
                event = json.loads(data)
            except json.JSONDecodeError:
                raise GeneratorError(f"HTTP backend {self.url} sent a malformed stream event: {data[:80]!r}") from None
            if not isinstance(event, dict):
                raise GeneratorError(f"HTTP backend {self.url} sent a malformed stream event: {data[:80]!r}")
            if "error" in event:
                err = event["error"]
                raise GeneratorError(f"HTTP backend {self.url} reported an error: "
                                     f"{err.get('message', err) if isinstance(err, dict) else err}")
            choices = event.get("choices")
            if not isinstance(choices, list):
                raise GeneratorError(f"HTTP backend {self.url} sent a stream event without choices: {data[:80]!r}")
            for choice in choices[:1]:
                piece = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
                if piece:
                    yield piece
        if not seen_data:
            raise GeneratorError(f"HTTP backend {self.url} did not send a stream (no SSE 'data:' lines); "
                                 f"is it an OpenAI-compatible server?")

    def close(self) -> None:
        self.client.close()


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
