"""Smoke tier: the real default model through both local backends drafts a Chinese and an English reply whose
citations point at the given passages. Slow (loads a 0.5B model twice; transformers dequantises it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from suggest.backends import LlamaCppGenerator, TransformersGenerator
from suggest.drafting import stream_model_draft
from core.language import detect_language
from suggest.modelfiles import ModelSpec, default_gguf
from core.settings import Settings, ShopProfile
from core.types import Draft, Hit, Passage

pytestmark = pytest.mark.slow

SETTINGS = Settings(temperature=0.0, max_new_tokens=80)
SHOP = ShopProfile()
CASES = {
    "en": ("Do you offer free shipping?", [
        Hit(Passage("ship-en", "shipping.en.md", "Shipping", "Orders over 99 yuan ship free. Delivery takes 3-5 days."),
            0.9),
        Hit(Passage("courier-en", "faq.csv", "", "We ship with SF Express and ZTO.", kind="faq",
                    question="Which courier do you use?"), 0.8)]),
    "zh": ("包邮吗？", [
        Hit(Passage("ship-zh", "shipping.zh.md", "发货", "订单满99元包邮，一般3-5天送达。"), 0.9),
        Hit(Passage("courier-zh", "faq.csv", "", "我们使用顺丰和中通快递。", kind="faq", question="用什么快递？"), 0.8)]),
}


def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """COPILOT_MODEL_CACHE when set (reuse an assembled model), else one folder for the whole test session."""
    return Path(os.environ.get("COPILOT_MODEL_CACHE") or tmp_path_factory.getbasetemp() / "models")


@pytest.fixture(scope="session")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return default_gguf(model_cache(tmp_path_factory), progress=False)


def draft(generator, lang: str) -> Draft:
    message, hits = CASES[lang]
    stream = stream_model_draft(message, hits, lang, SHOP, SETTINGS, generator)
    pieces = list(stream)
    assert len(pieces) > 1, "the reply should stream in several pieces"
    result = stream.finish()
    ids = {h.id for h in hits}
    assert result.text and detect_language(result.text) == lang, result.text
    assert result.citations and set(result.citations) <= ids, result.text
    assert not [c for c in result.checks if c.name == "citation"], result.text
    return result


@pytest.fixture(scope="module")
def llama(gguf: Path):
    generator = LlamaCppGenerator(gguf, n_threads=SETTINGS.llm_threads, n_ctx=SETTINGS.n_ctx)
    yield generator
    generator.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_llama_cpp_drafts_with_valid_citations(llama, lang):
    draft(llama, lang)


def test_llama_cpp_keeps_one_context_per_language(llama):
    draft(llama, "en")
    draft(llama, "zh")
    assert len(llama._slots) == 2  # both prefixes stay warm


def test_transformers_drafts_with_valid_citations(gguf):
    generator = TransformersGenerator(ModelSpec("gguf", str(gguf)), n_threads=SETTINGS.llm_threads)
    try:
        for lang in ("zh", "en"):
            draft(generator, lang)
        assert generator.count_tokens("hello world") == 2
    finally:
        del generator
