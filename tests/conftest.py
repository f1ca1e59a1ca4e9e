"""Shared fixtures: a tiny bilingual knowledge folder, a deterministic fake embedder, settings for tests."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from index.embed import HashEmbedder
from core.settings import Settings

FAKE_EMBED = "hash:256"

SMALL_KB = {
    "policies/shipping.zh.md": """
        # 配送政策
        ## 运费
        全店满99元包邮，不满99元收取运费8元。偏远地区（新疆、西藏）不包邮。
        ## 发货时间
        付款后48小时内发货，快递一般3到5天送达。
    """,
    "policies/shipping.en.md": """
        # Shipping policy
        ## Shipping fee
        Orders over ¥99 ship free; below ¥99 the fee is ¥8. Remote regions (Xinjiang, Tibet) are excluded.
        ## Dispatch time
        We dispatch within 48 hours of payment; delivery usually takes 3-5 days.
    """,
    "policies/returns.en.md": """
        ---
        tags: [after-sale]
        ---
        # Returns
        Unused items can be returned within 7 days of delivery, no reason needed.
        Refunds are paid within 1-3 working days after the warehouse receives the item.
    """,
    "products/kettle.en.md": """
        # Electric kettle
        ## Specs
        Capacity 1.7L, power 1800W, stainless steel 304 inner pot.
        ## Care
        Descale once a month with citric acid.
    """,
    "faq/faq.csv": """
        question,answer,kind,keywords,valid_from,valid_until,tags
        能开发票吗？,可以的，下单后在订单页申请电子发票，1个工作日内发到您的邮箱。,faq,,,,
        Do you offer gift wrapping?,"Yes, gift wrapping is ¥5 per order; choose it at checkout.",faq,,,,
        双11快递会延迟吗？,双11期间订单量大，发货可能延迟2到3天，我们会尽快为您发出。,emergency,双11;快递慢,2026-11-10,2026-11-30,
        春节发货吗？,春节期间暂停发货至2月20日。,emergency,春节;过年,2026-01-20,2026-02-20,
        Christmas promo?,Use code XMAS30 for 30% off.,emergency,christmas;xmas,2026-12-20,2026-12-31,
    """,
}


def write_kb(root: Path, files: dict[str, str] = SMALL_KB) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A small bilingual knowledge folder in a temporary directory."""
    return write_kb(tmp_path / "kb")


@pytest.fixture
def settings() -> Settings:
    """Settings with the deterministic fake embedder (fast; no model load)."""
    return Settings(embed_model=FAKE_EMBED)


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder(256)


@pytest.fixture(scope="session", autouse=True)
def close_models_at_exit():
    """Close every cached generator before the interpreter exits (llama.cpp frees its model while it still can)."""
    yield
    from suggest.backends import clear_generators

    clear_generators()
