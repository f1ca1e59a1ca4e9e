"""Backend registry, the scripted fake, and the OpenAI-compatible client against a tiny real HTTP server."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from suggest import backends
from suggest.backends import (BACKENDS, FakeGenerator, Generator, OpenAIHTTPGenerator, StopFilter,
                              chat_completions_url, get_generator, make_generator)
from core.errors import GeneratorError, UserError
from core.settings import Settings

MSGS = [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]
SLOW_S = 2.0  # how long the "slow" endpoint stalls; the client timeout in the test is far shorter


def run(gen: Generator, **kw) -> str:
    kw.setdefault("max_new_tokens", 100)
    kw.setdefault("temperature", 0.0)
    return "".join(gen.stream(MSGS, **kw))


# ------------------------------------------------------------------------------------------------ registry
def test_registry_names():
    assert sorted(BACKENDS) == ["fake", "llama.cpp", "openai", "transformers"]


def test_unknown_backend_lists_valid_ones():
    with pytest.raises(UserError) as e:
        make_generator(Settings(), "gpt-9")
    assert str(e.value) == "unknown backend 'gpt-9'; valid: fake, llama.cpp, openai, transformers"
    with pytest.raises(UserError):
        get_generator(Settings(backend="nope"))


def test_make_generator_uses_settings_backend():
    gen = make_generator(Settings(backend="fake"))
    assert isinstance(gen, FakeGenerator) and isinstance(gen, Generator)


def test_heavy_generators_are_cached_per_settings(monkeypatch):
    made = []
    monkeypatch.setitem(BACKENDS, "llama.cpp", lambda s: made.append(s) or FakeGenerator())
    backends.clear_generators()
    try:
        a = get_generator(Settings(llm_threads=1))
        assert get_generator(Settings(llm_threads=1)) is a
        b = get_generator(Settings(llm_threads=2))
        assert b is not a and len(made) == 2
        assert get_generator(Settings(backend="fake")) is not get_generator(Settings(backend="fake"))
    finally:
        backends.clear_generators()
    assert a.closed and b.closed


def test_openai_backend_needs_a_base_url():
    with pytest.raises(UserError, match="base-url"):
        make_generator(Settings(backend="openai"))


@pytest.mark.parametrize("base,url", [
    ("http://h:8000", "http://h:8000/v1/chat/completions"),
    ("http://h:8000/", "http://h:8000/v1/chat/completions"),
    ("http://h:8000/v1", "http://h:8000/v1/chat/completions"),
    ("http://h/proxy/v1/", "http://h/proxy/v1/chat/completions"),
])
def test_chat_completions_url(base, url):
    assert chat_completions_url(base) == url


# -------------------------------------------------------------------------------------------------- fake
def test_fake_replies_in_turn_and_records_prompts():
    gen = FakeGenerator(["one two three", "二三"])
    pieces = list(gen.stream(MSGS, max_new_tokens=10, temperature=0.0))
    assert pieces == ["one ", "two ", "three"]
    assert list(gen.stream(MSGS, max_new_tokens=10, temperature=0.0)) == ["二", "三"]
    assert run(gen) == "二三"  # the last reply repeats
    assert len(gen.calls) == 3 and gen.calls[0] == MSGS


def test_fake_callable_stop_max_tokens_and_errors():
    gen = FakeGenerator(lambda m: f"echo {m[-1]['content']} STOP ignored")
    assert run(gen, stop=["STOP"]) == "echo hi "
    assert run(gen, max_new_tokens=1) == "echo "
    scripted = FakeGenerator(["ok", GeneratorError("boom")])
    assert run(scripted) == "ok"
    with pytest.raises(GeneratorError, match="boom"):
        run(scripted)
    failing = FakeGenerator(["a b c d"], raise_after=2)
    it = failing.stream(MSGS, max_new_tokens=10, temperature=0.0)
    assert next(it) == "a " and next(it) == "b "
    with pytest.raises(GeneratorError):
        next(it)


def test_stop_filter_holds_back_partial_stop_strings():
    f = StopFilter(["<|im_end|>"])
    out = f.feed("Hello <|im") + f.feed("_end|> more")
    assert out == "Hello " and f.stopped and f.flush() == ""
    g = StopFilter(["END"])
    assert g.feed("E") == "" and g.feed("x") == "Ex" and g.flush() == ""
    h = StopFilter(None)
    assert h.feed("abc") == "abc"


# ------------------------------------------------------------------------------------ OpenAI-compatible
def sse(*events: object) -> bytes:
    return b"".join(b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n" for e in events)


def chunk(text: str) -> dict:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


RESPONSES: dict[str, tuple[int, str, bytes]] = {
    "ok": (200, "text/event-stream", b": keep-alive\n\n" + sse({"choices": [{"delta": {"role": "assistant"}}]},
                                                                chunk("Free "), chunk("shipping [1]."), b"[DONE]")),
    "malformed": (200, "text/event-stream", sse(chunk("Free ")) + b"data: {not json\n\n"),
    "nochoices": (200, "text/event-stream", sse({"id": "x"})),
    "notsse": (200, "application/json", json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode()),
    "error": (200, "text/event-stream", sse({"error": {"message": "model overloaded"}})),
    "500": (500, "application/json", b'{"error": "internal failure"}'),
}


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict, dict]] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        Handler.requests.append((self.path, dict(self.headers), body))
        mode = self.path.strip("/").split("/")[0]
        if mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(sse(chunk("Free ")))
            self.wfile.flush()
            time.sleep(SLOW_S)
            return
        status, ctype, payload = RESPONSES[mode]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client(server: str, mode: str, **kw) -> OpenAIHTTPGenerator:
    return OpenAIHTTPGenerator(f"{server}/{mode}/v1", model=kw.pop("model", "m"), timeout=kw.pop("timeout", 5.0), **kw)


def test_openai_streams_and_sends_the_request(server):
    Handler.requests.clear()
    gen = client(server, "ok", api_key="sk-test")
    assert list(gen.stream(MSGS, max_new_tokens=7, temperature=0.3, stop=["<|im_end|>"])) == ["Free ", "shipping [1]."]
    path, headers, body = Handler.requests[-1]
    assert path == "/ok/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body == {"model": "m", "messages": MSGS, "stream": True, "max_tokens": 7, "temperature": 0.3,
                    "stop": ["<|im_end|>"]}
    gen.close()


def test_openai_from_settings():
    gen = make_generator(Settings(backend="openai", base_url="http://127.0.0.1:9/v1", api_model="qwen",
                                  http_timeout=3))
    assert isinstance(gen, OpenAIHTTPGenerator) and gen.model == "qwen" and gen.timeout == 3


@pytest.mark.parametrize("mode,message", [
    ("500", "answered 500: {\"error\": \"internal failure\"}"),
    ("malformed", "malformed stream event"),
    ("nochoices", "without choices"),
    ("notsse", "did not send a stream"),
    ("error", "reported an error: model overloaded"),
])
def test_openai_errors_are_one_line(server, mode, message):
    with pytest.raises(GeneratorError) as e:
        run(client(server, mode))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_openai_timeout(server):
    start = time.monotonic()
    with pytest.raises(GeneratorError, match="timed out after 0.3 s"):
        run(client(server, "slow", timeout=0.3))
    assert time.monotonic() - start < SLOW_S


def test_openai_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(GeneratorError, match="cannot connect"):
        run(OpenAIHTTPGenerator(f"http://127.0.0.1:{port}", timeout=2.0))
