"""The composed draft and the check-back reply: rules on the evidence sentences, openers, citations (no model)."""
from __future__ import annotations

import pytest

from core.settings import ShopProfile
from core.types import Evidence
from suggest.compose import Opening, adapt_sentence, check_back_reply, compose_reply, strip_greeting, to_customer

SHOP = ShopProfile(name="Kettle House", name_zh="水壶之家", sign_off="Best, Kettle House", sign_off_zh="水壶之家")


@pytest.mark.parametrize("text, expected", [
    ("您好，可以开发票", "可以开发票"),
    ("亲~ 您好！七天无理由退货", "七天无理由退货"),
    ("Hi there! Yes, we ship to Tibet.", "Yes, we ship to Tibet."),
    ("Hello, thanks for contacting us. It ships today.", "It ships today."),
    ("His order ships today.", "His order ships today."),       # "hi" inside a word is no greeting
    ("亲自检查过了", "亲自检查过了"),                               # nor 亲 inside a word
])
def test_strip_greeting(text, expected):
    assert strip_greeting(text) == expected


@pytest.mark.parametrize("sentence, lang, expected", [
    ("顾客签收后7天内可以退货", "zh", "您签收后7天内可以退货"),
    ("你可以在订单页申请", "zh", "您可以在订单页申请"),
    ("你们的订单", "zh", "你们的订单"),
    ("请在客户端查看", "zh", "请在客户端查看"),                     # the app, not the customer
    ("Customers can return unused items.", "en", "You can return unused items."),
    ("The customer's refund arrives once the customer is verified.", "en", "Your refund arrives once you are verified."),
    ("We ship daily.", "en", "We ship daily."),
])
def test_to_customer(sentence, lang, expected):
    assert to_customer(sentence, lang) == expected


@pytest.mark.parametrize("sentence, lang, expected", [
    ("亲，顾客可以在签收后7天内申请退货", "zh", "您可以在签收后7天内申请退货。"),
    ("- **Capacity** 1.7L", "en", "Capacity 1.7L."),
    ("hi! opened food cannot be returned", "en", "Opened food cannot be returned."),
    ("您好！", "zh", ""),
])
def test_adapt_sentence(sentence, lang, expected):
    assert adapt_sentence(sentence, lang) == expected


EVIDENCE = [Evidence("a", "您好，全店满99元包邮。", 0.9), Evidence("b", "偏远地区不包邮。", 0.8),
            Evidence("a", "全店满99元包邮。", 0.7)]


@pytest.mark.parametrize("opening, starts", [
    (Opening(upset=False, first_contact=True), "您好，感谢您联系水壶之家。"),
    (Opening(upset=True, first_contact=True), "非常抱歉"),       # feelings first, before any greeting
    (Opening(upset=False, first_contact=False), "全店满99元包邮。"),
])
def test_compose_reply_openers(opening, starts):
    draft = compose_reply(EVIDENCE, "zh", SHOP, opening)
    assert draft.text.startswith(starts) and draft.text.endswith("水壶之家")


def test_compose_reply_body_citations_and_duplicates():
    draft = compose_reply(EVIDENCE, "zh", SHOP, Opening(first_contact=False))
    assert draft.origin == "composed" and draft.citations == ["a", "b"]  # exact, in order, once each
    assert draft.text.count("全店满99元包邮") == 1 and "偏远地区不包邮。" in draft.text
    assert "还有其他问题随时告诉我" in draft.text


def test_compose_reply_in_english_is_spaced():
    draft = compose_reply([Evidence("x", "Customers can return unused items within 7 days", 1.0)], "en", SHOP)
    assert draft.text == ("Hello, thanks for contacting Kettle House. You can return unused items within 7 days. "
                          "If there is anything else, just let me know. Best, Kettle House")


@pytest.mark.parametrize("lang, needle", [("zh", "核实"), ("en", "check")])
def test_check_back_reply_is_honest_and_marked(lang, needle):
    draft = check_back_reply(lang, SHOP)
    assert draft.origin == "holding" and draft.citations == [] and needle in draft.text
    assert [c.name for c in draft.checks] == ["not_in_knowledge_base"]
