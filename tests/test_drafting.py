"""Saved-reply fast path, holding reply, model draft streaming and citation handling (fake generator only)."""
from __future__ import annotations

import pytest

from core.errors import GeneratorError
from suggest.backends import FakeGenerator
from suggest.drafting import (finish_model_draft, greeting, holding_reply, saved_reply, saved_reply_score,
                              stream_model_draft, token_overlap, warm_up)
from core.settings import Settings, ShopProfile
from core.types import Hit, Passage

SHOP = ShopProfile(greeting="Hello, welcome to Kettle House!", greeting_zh="您好，欢迎光临水壶之家！",
                   sign_off="— Kettle House", sign_off_zh="")
THRESHOLD = 0.6


def words(text: str) -> list[str]:
    """A stand-in keyword tokenizer: lower-cased words, one token per CJK character."""
    out: list[str] = []
    for w in text.lower().replace("?", " ").replace("？", " ").split():
        out.extend(list(w) if any("\u4e00" <= c <= "\u9fff" for c in w) else [w])
    return out


def hit(pid: str, text: str, *, kind: str = "faq", question: str = "", dense: float = 0.0,
        pinned: bool = False) -> Hit:
    return Hit(Passage(id=pid, source="faq.csv", title="", text=text, kind=kind, question=question), score=1.0,
               dense_score=dense, pinned=pinned)


GIFT = hit("gift", "Yes, gift wrapping is ¥5 per order.", question="Do you offer gift wrapping", dense=0.9)
INVOICE = hit("inv", "可以的，下单后在订单页申请电子发票。", question="能开发票吗", dense=0.5)
DOC = hit("doc", "Gift wrapping paper is recycled.", kind="doc", dense=0.95)
PAST = hit("past", "Hi! The lid is dishwasher safe, the body is not.", kind="past_reply",
           question="is the kettle dishwasher safe", dense=0.8)


def test_score_blends_dense_and_question_overlap():
    assert saved_reply_score("Do you offer gift wrapping?", GIFT, words) == pytest.approx(0.5 * 0.9 + 0.5 * 1.0)
    assert saved_reply_score("gift wrapping price", GIFT, words) < saved_reply_score("Do you offer gift wrapping",
                                                                                     GIFT, words)
    assert saved_reply_score("Do you offer gift wrapping?", DOC, words) == 0.0
    assert token_overlap("", "x", words) == 0.0


@pytest.mark.parametrize("message,lang,hits,expected", [
    ("Do you offer gift wrapping?", "en", [DOC, GIFT], "gift"),          # FAQ wins over a doc with higher cosine
    ("Is the kettle dishwasher safe?", "en", [PAST, GIFT], "past"),      # past replies count too
    ("能开发票吗？", "zh", [INVOICE, GIFT], "inv"),                        # Chinese, overlap carries it
    ("能开发票吗？", "en", [INVOICE], None),                               # answer not in the message's language
    ("What colours does the kettle come in?", "en", [GIFT, PAST], None),  # nothing above the threshold
    ("Do you offer gift wrapping?", "en", [DOC], None),                  # docs are never saved replies
    ("Do you offer gift wrapping?", "en", [], None),
    # While an emergency entry is among the hits it overrides the usual answers: only it may be offered.
    ("Do you offer gift wrapping?", "en", [GIFT, hit("em", "Gift wrapping is paused this week.", kind="emergency",
                                                      question="Do you offer gift wrapping this week", dense=0.7)], "em"),
    ("Do you offer gift wrapping?", "en", [GIFT, hit("em", "Orders are delayed this week.", kind="emergency",
                                                      question="are orders delayed", dense=0.2)], None),
    # A number the stored question does not have means another case (size, amount, order).
    ("I'm 185cm, which size?", "en", [hit("size", "Size L.", kind="past_reply", question="I'm 178cm, which size?",
                                          dense=0.95)], None),
    ("I'm 178cm, which size?", "en", [hit("size", "Size L.", kind="past_reply", question="I'm 178cm, which size?",
                                          dense=0.95)], "size"),
])
def test_saved_reply_selection(message, lang, hits, expected):
    draft = saved_reply(message, hits, lang, SHOP, THRESHOLD, tokenize=words)
    if expected is None:
        assert draft is None
    else:
        assert draft.origin == "saved_reply" and draft.source_id == expected and draft.citations == [expected]
        assert draft.text == next(h for h in hits if h.id == expected).passage.text


def test_saved_reply_with_greeting_only_when_not_already_greeting():
    gift = saved_reply("Do you offer gift wrapping", [GIFT], "en", SHOP, THRESHOLD, greet=True, tokenize=words)
    assert gift.text == "Hello, welcome to Kettle House! Yes, gift wrapping is ¥5 per order."
    past = saved_reply("is the kettle dishwasher safe", [PAST], "en", SHOP, THRESHOLD, greet=True, tokenize=words)
    assert past.text == PAST.passage.text
    inv = saved_reply("能开发票吗", [INVOICE], "zh", SHOP, THRESHOLD, greet=True, tokenize=words)
    assert inv.text == "您好，欢迎光临水壶之家！" + INVOICE.passage.text


def test_default_tokenizer_is_the_keyword_index_one():
    pytest.importorskip("jieba")
    assert saved_reply_score("Do you offer gift wrapping?", GIFT) > 0.8


@pytest.mark.parametrize("lang,needle", [("en", "colleague"), ("zh", "同事")])
def test_holding_reply(lang, needle):
    draft = holding_reply(lang, SHOP, ["legal threat"])
    assert draft.origin == "holding" and draft.citations == []
    assert needle in draft.text and draft.text.startswith(greeting(lang, SHOP))
    assert "{" not in draft.text
    assert draft.checks[0].name == "escalation" and "legal threat" in draft.checks[0].message
    for promise in ("refund", "compensat", "退款", "赔偿", "tomorrow", "24"):
        assert promise not in draft.text.lower()


def test_holding_reply_sign_off():
    assert holding_reply("en", SHOP, []).text.endswith(" — Kettle House")
    assert holding_reply("en", SHOP, []).checks == []


def test_finish_model_draft_maps_citations():
    draft = finish_model_draft("  Free shipping over 99 [2], gift wrap [1][2].\n", [GIFT, DOC])
    assert draft.text == "Free shipping over 99 [2], gift wrap [1][2]."
    assert draft.citations == ["doc", "gift"] and draft.checks == [] and draft.origin == "model"


def test_finish_model_draft_removes_invalid_citations():
    draft = finish_model_draft("Free shipping [1] and a voucher [5].", [GIFT])
    assert draft.text == "Free shipping [1] and a voucher."
    assert draft.citations == ["gift"]
    (check,) = draft.checks
    assert (check.name, check.severity) == ("citation", "error") and "[5]" in check.message


@pytest.mark.parametrize("text", ["", "   \n", "[7]"])
def test_empty_generation_is_an_error(text):
    with pytest.raises(GeneratorError, match="empty reply"):
        finish_model_draft(text, [GIFT])


def test_stream_model_draft_with_fake():
    fake = FakeGenerator(["Yes, gift wrapping is ¥5 [1]. Also [9]."])
    settings = Settings(draft_passages=2, max_new_tokens=50)
    stream = stream_model_draft("Do you offer gift wrapping?", [GIFT, DOC, PAST], "en", SHOP, settings, fake,
                                upset=True)
    pieces = list(stream)
    assert len(pieces) > 3 and "".join(pieces) == stream.text
    assert stream.prompt_hits == [GIFT, DOC]
    assert "[2] (doc)" in fake.calls[0][-1]["content"] and "[3]" not in fake.calls[0][-1]["content"]
    draft = stream.finish()
    assert draft.citations == ["gift"] and draft.text == "Yes, gift wrapping is ¥5 [1]. Also."
    assert draft.checks[0].name == "citation"


def test_stream_model_draft_propagates_backend_errors():
    stream = stream_model_draft("hi", [GIFT], "en", SHOP, Settings(), FakeGenerator([GeneratorError("down")]))
    with pytest.raises(GeneratorError, match="down"):
        stream.finish()


def test_warm_up_runs_each_language_prefix_once():
    fake = FakeGenerator(["ok"])
    warm_up(fake, SHOP)
    assert len(fake.calls) == 2
    assert "中文" in fake.calls[0][0]["content"] and "English" in fake.calls[1][0]["content"]
