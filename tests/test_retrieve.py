from dataclasses import replace
from datetime import date

import pytest

from index.build import build_index
from core.errors import UserError
from suggest.fusion import FUSIONS
from suggest.retrieve import Retriever

DAY = date(2026, 11, 23)


@pytest.fixture
def retriever(kb, tmp_path, settings, fake_embedder):
    build_index(kb, tmp_path / "idx", settings)
    return Retriever.open(tmp_path / "idx", settings, fake_embedder)


def texts(hits):
    return [h.passage.text for h in hits]


@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_fusion_finds_the_shipping_fee(retriever, fusion):
    found = retriever.search("满多少包邮？运费多少", DAY, fusion=fusion)
    hits, lang, timings = found.hits, found.language, found.timings_ms
    assert lang == "zh"
    assert hits[0].passage.source == "policies/shipping.zh.md"
    assert "retrieve" in timings


def test_english_question_prefers_english_passages(retriever):
    found = retriever.search("How much is shipping, is it free over 99?", DAY)
    hits, lang = found.hits, found.language
    assert lang == "en" and hits[0].passage.source == "policies/shipping.en.md"


def test_emergency_entry_pinned_when_keyword_in_message(retriever):
    hits = retriever.search("双11买的东西快递慢吗", DAY).hits
    assert hits[0].pinned and hits[0].passage.kind == "emergency"
    assert "双11期间订单量大" in hits[0].passage.text


def test_emergency_not_pinned_without_its_keyword(retriever):
    hits = retriever.search("运费多少钱", DAY).hits
    assert not any(h.pinned for h in hits)


@pytest.mark.parametrize("day, shown", [
    (date(2026, 11, 9), False),   # before valid_from: held back
    (date(2026, 11, 10), True),   # first valid day
    (date(2026, 11, 30), True),   # last valid day
    (date(2026, 12, 1), False),   # expired
])
def test_validity_window_of_emergency_entry(retriever, day, shown):
    hits = retriever.search("双11快递会延迟吗？", day, k=20).hits
    assert any("双11期间订单量大" in t for t in texts(hits)) is shown


def test_expired_and_future_entries_never_returned(retriever):
    for q in ("春节发货吗？过年", "Christmas promo xmas code?"):
        hits = retriever.search(q, DAY, k=50).hits
        assert not any("2月20日" in t or "XMAS30" in t for t in texts(hits))


def test_dense_scores_are_cosines_also_for_keyword_only_hits(retriever, fake_embedder):
    retriever.settings = replace(retriever.settings, candidates_k=1)  # the dense side returns few candidates
    hits = retriever.search("gift wrapping for my order", DAY, k=10).hits
    q = fake_embedder.encode_queries(["gift wrapping for my order"])[0]
    assert any(h.dense_rank == 0 for h in hits)  # some hits came from the keyword side only
    for h in hits:
        row = retriever.row_of[h.id]
        assert h.dense_score == pytest.approx(float(retriever.index.dense.reconstruct(row) @ q), abs=1e-6)


@pytest.mark.parametrize("message, error", [
    ("", "the message is empty"),
    ("   \n", "the message is empty"),
    ("x" * 2001, "more than the limit of 2000"),
])
def test_bad_messages(retriever, message, error):
    with pytest.raises(UserError, match=error):
        retriever.search(message, DAY)


def test_unknown_fusion_lists_valid_ones(retriever):
    with pytest.raises(UserError, match="valid: rrf, weighted, dense, keyword"):
        retriever.search("hi", DAY, fusion="magic")


@pytest.mark.parametrize("keyword,message,found", [
    ("late", "How wide are the plates?", False),      # not inside another word
    ("late", "my parcel is late!", True),
    ("still not here", "It's STILL NOT HERE", True),
    ("11.11", "any 11.11 deals?", True),
    ("快递慢", "快递慢死了", True),                      # Chinese: anywhere
    ("2610", "批号26100342", True),
    ("", "anything", False),
])
def test_emergency_keywords_match_whole_latin_words(keyword, message, found):
    from suggest.retrieve import keyword_in

    assert keyword_in(keyword, message) is found
