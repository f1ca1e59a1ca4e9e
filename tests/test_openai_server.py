"""The OpenAI-compatible backend against a real server: llama-cpp-python's own, on loopback, with the default
GGUF. Slow (starts a server process and loads the model)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from core.errors import GeneratorError
from suggest.backends import OpenAIHTTPGenerator
from suggest.drafting import stream_model_draft
from core.language import detect_language
from suggest.modelfiles import default_gguf
from core.settings import Settings, ShopProfile
from core.types import Hit, Passage

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 120
SETTINGS = Settings(temperature=0.0, max_new_tokens=80, n_ctx=2048)
CASES = {
    "en": ("Do you offer free shipping?", [
        Hit(Passage("ship-en", "shipping.en.md", "Shipping", "Orders over 99 yuan ship free. Delivery takes 3-5 days."),
            0.9)]),
    "zh": ("包邮吗？", [Hit(Passage("ship-zh", "shipping.zh.md", "发货", "订单满99元包邮，一般3-5天送达。"), 0.9)]),
}


def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """COPILOT_MODEL_CACHE when set (reuse an assembled model), else one folder for the whole test session."""
    return Path(os.environ.get("COPILOT_MODEL_CACHE") or tmp_path_factory.getbasetemp() / "models")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gguf = default_gguf(model_cache(tmp_path_factory), progress=False)
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                                 "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx",
                                 str(SETTINGS.n_ctx), "--verbose", "False"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer in {START_TIMEOUT_S} s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_drafts_through_a_real_openai_compatible_server(server, lang):
    generator = OpenAIHTTPGenerator(server, model="default", timeout=60)
    message, hits = CASES[lang]
    stream = stream_model_draft(message, hits, lang, ShopProfile(), SETTINGS, generator)
    assert len(list(stream)) > 1
    draft = stream.finish()
    assert draft.text and detect_language(draft.text) == lang, draft.text
    assert draft.citations and set(draft.citations) <= {h.id for h in hits}, draft.text
    generator.close()


def test_server_side_error_is_a_generator_error(server):
    generator = OpenAIHTTPGenerator(server, timeout=60)
    too_long = [{"role": "user", "content": "word " * 5000}]  # beyond the server's 2048-token context
    with pytest.raises(GeneratorError) as e:
        "".join(generator.stream(too_long, max_new_tokens=10, temperature=0.0))
    assert "\n" not in str(e.value)
