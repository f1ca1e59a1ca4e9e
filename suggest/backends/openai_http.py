"""The `openai` backend: any OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama), streamed over SSE."""
from __future__ import annotations

import json
from typing import Any, Iterator

from core.errors import GeneratorError, UserError
from core.settings import Settings
from suggest.backends.base import HTTP_CONNECT_TIMEOUT_S, HTTP_ERROR_SNIPPET_CHARS, Messages

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
