"""Table tests for eval/metrics.py: every metric on hand-made inputs with known answers."""
from __future__ import annotations

import doctest

import pytest

from eval import metrics
from eval.metrics import (citation_counts, citation_validity, first_gold_rank, is_gold, is_grounded, mention_rate,
                          percentile, percentiles, precision_recall, recall_at, reciprocal_rank, scored_draft,
                          style_passes, summarise, violations)
from core.types import Check, Draft, Hit, Passage


def H(id_: str, source: str = "other.md") -> dict:
    return {"id": id_, "source": source}


RANKED = [H("a", "x.md"), H("b", "faq/returns.csv"), H("c", "y.md"), H("d", "x.md"), H("e", "z.md"),
          H("f", "w.md"), H("g", "w.md"), H("h", "w.md"), H("i", "w.md"), H("j", "deep.md"), H("k", "deeper.md")]


def test_doctests():
    assert doctest.testmod(metrics).failed == 0


@pytest.mark.parametrize("hit, gold, expected", [
    ({"id": "p1", "source": "faq/returns.csv"}, ["faq/returns.csv"], True),   # by source
    ({"id": "p1", "source": "faq/returns.csv"}, ["p1"], True),                # by passage id
    ({"id": "p1", "source": "faq/returns.csv"}, ["returns.csv"], False),      # no partial path match
    ({"id": "p1", "source": "faq/returns.csv"}, ["FAQ/returns.csv"], False),  # exact, case-sensitive
    ({"id": "p1", "source": "a.md"}, [], False),
    (Hit(Passage("p9", "policies/shipping.zh.md", "t", "text"), 0.1), ["policies/shipping.zh.md"], True),
    (Hit(Passage("p9", "policies/shipping.zh.md", "t", "text"), 0.1), ["p9"], True),
    (Hit(Passage("p9", "policies/shipping.zh.md", "t", "text"), 0.1), ["p8"], False),
])
def test_is_gold(hit, gold, expected):
    assert is_gold(hit, gold) is expected


@pytest.mark.parametrize("gold, rank, r1, r5, rr, rr_at_3", [
    (["x.md"], 1, 1.0, 1.0, 1.0, 1.0),
    (["faq/returns.csv"], 2, 0.0, 1.0, 0.5, 0.5),
    (["b", "y.md"], 2, 0.0, 1.0, 0.5, 0.5),       # several gold entries: the first one found counts
    (["z.md"], 5, 0.0, 1.0, 0.2, 0.0),
    (["w.md"], 6, 0.0, 0.0, 1 / 6, 0.0),
    (["deep.md"], 10, 0.0, 0.0, 0.1, 0.0),
    (["deeper.md"], 11, 0.0, 0.0, 0.0, 0.0),      # beyond the MRR@10 cut-off
    (["nowhere.md"], 0, 0.0, 0.0, 0.0, 0.0),
    ([], 0, 0.0, 0.0, 0.0, 0.0),
])
def test_ranking_metrics(gold, rank, r1, r5, rr, rr_at_3):
    assert first_gold_rank(RANKED, gold) == rank
    assert recall_at(RANKED, gold, 1) == r1
    assert recall_at(RANKED, gold, 5) == r5
    assert reciprocal_rank(RANKED, gold) == pytest.approx(rr)
    assert reciprocal_rank(RANKED, gold, k=3) == pytest.approx(rr_at_3)


def test_ranking_metrics_on_empty_ranking():
    assert recall_at([], ["x.md"], 5) == 0.0 and reciprocal_rank([], ["x.md"]) == 0.0


@pytest.mark.parametrize("values, q, expected", [
    ([], 50, None),
    ([7], 50, 7.0), ([7], 95, 7.0),
    ([1, 2, 3], 50, 2.0),
    ([3, 1, 2, 4], 50, 2.5),                      # unsorted input, interpolated median
    ([10, 20], 95, 19.5),                         # linear interpolation between closest ranks
    (list(range(1, 101)), 95, 95.05),
    ([1, None, 3], 50, 2.0),                      # None values are ignored
])
def test_percentile(values, q, expected):
    assert percentile(values, q) == (pytest.approx(expected) if expected is not None else None)


def test_percentiles_keys_and_rounding():
    assert percentiles([1, 2, 3, 4, 100]) == {"p50": 3.0, "p95": 80.8}
    assert percentiles([1.23456], ndigits=2) == {"p50": 1.23, "p95": 1.23}
    assert percentiles([1, 2], (50, 90, 99)).keys() == {"p50", "p90", "p99"}
    assert percentiles([]) == {"p50": None, "p95": None}


@pytest.mark.parametrize("text, must, expected", [
    ("满99元包邮，48小时内发货", ["99元", "48小时"], 1.0),
    ("Free shipping over ¥99", ["FREE shipping", "48 hours"], 0.5),   # case-insensitive
    ("Free shipping over ¥99", ["refund"], 0.0),
    ("", ["x"], 0.0),
    ("anything", [], None),                                            # nothing to mention: not scored
    ("anything", [""], None),
])
def test_mention_rate(text, must, expected):
    assert mention_rate(text, must) == expected


@pytest.mark.parametrize("text, banned, expected", [
    ("We guarantee delivery tomorrow", ["GUARANTEE", "refund"], ["GUARANTEE"]),
    ("保证明天到，亲亲宝贝", ["保证", "亲亲宝贝", "XMAS30"], ["保证", "亲亲宝贝"]),
    ("Use code xmas30", ["XMAS30"], ["XMAS30"]),
    ("All fine here", ["guarantee"], []),
    ("All fine here", [], []),
])
def test_violations(text, banned, expected):
    assert violations(text, banned) == expected


HITS = [H("a"), H("b"), H("c")]


@pytest.mark.parametrize("drafts, hits, counts, share", [
    ([{"citations": ["a", "b"]}], HITS, (2, 2), 1.0),
    ([{"citations": ["a", "zz"]}], HITS, (1, 2), 0.5),
    ([{"citations": ["a"]}, {"citations": ["c", "q"]}], HITS, (2, 3), 2 / 3),     # pooled over drafts
    ([{"citations": ["a"], "checks": [{"name": "citation", "span": "[4] [7]"}]}], HITS, (1, 3), 1 / 3),  # removed
    ([{"citations": []}], HITS, (0, 0), None),                                    # nothing cited: not scored
    ([], HITS, (0, 0), None),
    ([{"citations": ["a"]}], ["a", "b"], (1, 1), 1.0),                            # hits as plain ids
    ([Draft("t", citations=["p1", "p2"])], [Hit(Passage("p1", "s", "t", "x"), 1.0)], (1, 2), 0.5),
])
def test_citations(drafts, hits, counts, share):
    assert citation_counts(drafts, hits) == counts
    assert citation_validity(drafts, hits) == (pytest.approx(share) if share is not None else None)


@pytest.mark.parametrize("pred, gold, expected", [
    ([True, True, False, False], [True, False, True, False], (0.5, 0.5)),
    ([True, False], [True, False], (1.0, 1.0)),
    ([True, True, True], [True, False, False], (1 / 3, 1.0)),
    ([False, False], [True, True], (None, 0.0)),     # nothing predicted: precision undefined
    ([True, False], [False, False], (0.0, None)),    # nothing to find: recall undefined
    ([], [], (None, None)),
])
def test_precision_recall(pred, gold, expected):
    p, r = precision_recall(pred, gold)
    assert (p, r) == (pytest.approx(expected[0]) if expected[0] is not None else None,
                      pytest.approx(expected[1]) if expected[1] is not None else None)


def test_precision_recall_rejects_unequal_lengths():
    with pytest.raises(ValueError):
        precision_recall([True], [True, False])


@pytest.mark.parametrize("drafts, expected_text", [
    ([{"origin": "saved_reply", "text": "saved"}, {"origin": "model", "text": "model"}], "model"),
    ([{"origin": "saved_reply", "text": "saved"}], "saved"),
    ([{"origin": "holding", "text": "hold"}], "hold"),
    ([Draft("saved", origin="saved_reply"), Draft("gen", origin="model")], "gen"),
    ([], None),
])
def test_scored_draft(drafts, expected_text):
    d = scored_draft(drafts)
    assert (None if d is None else (d["text"] if isinstance(d, dict) else d.text)) == expected_text


@pytest.mark.parametrize("checks, grounded, style", [
    ([], True, True),
    ([{"name": "unsupported_fact"}], False, True),
    ([{"name": "unsupported_promise"}], False, True),
    ([{"name": "tone"}], True, False),
    ([{"name": "feelings_first"}], True, False),
    ([{"name": "citation"}, {"name": "saved_reply"}, {"name": "pii"}], True, True),
    ([Check("tone", "warning", "m"), Check("unsupported_fact", "error", "m")], False, False),
])
def test_grounded_and_style(checks, grounded, style):
    draft = {"checks": checks}
    assert is_grounded(draft) is grounded and style_passes(draft) is style


# ------------------------------------------------------------------------------------------------ summarise


def _case(lang, gold, hits, retrieve, **extra):
    return {"lang": lang, "gold_sources": gold, "hits": hits, "timings_ms": {"retrieve": retrieve}, **extra}


RETRIEVAL_CASES = [
    _case("zh", ["s1.md"], [H("1", "s1.md")], 10.0),                        # rank 1
    _case("zh", ["s2.md"], [H("1", "x"), H("2", "s2.md")], 20.0),           # rank 2
    _case("en", ["s3.md"], [H("1", "x")] * 5 + [H("6", "s3.md")], 30.0),    # rank 6: in MRR@10, not recall@5
    _case("en", [], [H("1", "x")], 40.0),                                    # no gold: not in recall/MRR
]


def test_summarise_retrieval_only():
    s = summarise(RETRIEVAL_CASES)
    assert s["cases"] == 4 and s["gold_cases"] == 3
    assert s["recall_at_1"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["recall_at_5"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["mrr_at_10"] == pytest.approx((1 + 0.5 + 1 / 6) / 3, abs=1e-3)
    assert s["retrieval_ms"] == {"p50": 25.0, "p95": 38.5}
    assert "must_mention_rate" not in s and "first_token_ms" not in s       # no drafts → no draft keys
    zh, en = s["by_language"]["zh"], s["by_language"]["en"]
    assert (zh["cases"], zh["recall_at_1"], zh["recall_at_5"], zh["mrr_at_10"]) == (2, 0.5, 1.0, 0.75)
    assert (en["cases"], en["gold_cases"], en["recall_at_1"], en["recall_at_5"]) == (2, 1, 0.0, 0.0)
    assert en["mrr_at_10"] == pytest.approx(0.167)
    assert en["retrieval_ms"] == {"p50": 35.0, "p95": 39.5}
    assert set(s["by_language"]) == {"zh", "en"}
    assert set(zh) == set(s) - {"by_language"}                              # same keys per language


def test_summarise_no_gold_gives_none_not_zero():
    s = summarise([_case("en", [], [], 1.0)])
    assert s["recall_at_1"] is None and s["mrr_at_10"] is None and s["gold_cases"] == 0


def test_summarise_escalation():
    cases = [_case("zh", [], [], 1.0, escalate=True, expect_escalation=True),
             _case("zh", [], [], 1.0, escalate=True, expect_escalation=False),
             _case("en", [], [], 1.0, escalate=False, expect_escalation=True),
             _case("en", [], [], 1.0, escalate=False, expect_escalation=False),
             _case("en", [], [], 1.0, escalate=True)]                         # no expectation: not counted
    s = summarise(cases)
    assert s["escalation_cases"] == 4
    assert (s["escalation_precision"], s["escalation_recall"], s["escalation_accuracy"]) == (0.5, 0.5, 0.5)
    assert s["by_language"]["zh"]["escalation_precision"] == 0.5 and s["by_language"]["zh"]["escalation_recall"] == 1.0
    assert s["by_language"]["en"]["escalation_precision"] is None
    assert s["by_language"]["en"]["escalation_accuracy"] == 0.5


def _d(text, origin="model", citations=(), checks=()):
    return {"text": text, "origin": origin, "citations": list(citations), "checks": [{"name": c} for c in checks]}


DRAFT_CASES = [
    # zh: model draft scored (the saved reply is not); mentions 2/2; cites one valid, one not
    _case("zh", ["s1.md"], [H("1", "s1.md"), H("2")], 10.0, escalate=False, expect_escalation=False,
          must_mention=["99元", "包邮"], must_not_mention=["保证"],
          drafts=[_d("saved text 保证", "saved_reply", ["1"]), _d("您好，满99元包邮。[1]", "model", ["1", "9"])],
          timings_ms={"retrieve": 10.0, "saved_reply": 12.0, "first_draft": 12.0, "first_token": 300.0,
                      "total": 2000.0}),
    # zh: holding reply only (escalated); mention 0/1; a banned word; tone finding
    _case("zh", [], [H("3")], 20.0, escalate=True, expect_escalation=True, must_mention=["退款"],
          must_not_mention=["保证"], drafts=[_d("您好，我们保证会处理。", "holding", checks=["tone"])],
          timings_ms={"retrieve": 20.0, "first_draft": 25.0, "total": 30.0}),
    # en: model draft in the wrong language, unsupported fact, mentions 1/2
    _case("en", ["s3.md"], [H("4", "x"), H("5", "s3.md")], 30.0, escalate=False, expect_escalation=False,
          must_mention=["7 days", "REFUND"], drafts=[_d("您好，7 days 内可以退货，请放心。", "model", ["5"],
                                                         checks=["unsupported_fact"])],
          timings_ms={"retrieve": 30.0, "first_draft": 400.0, "first_token": 400.0, "total": 3000.0}),
    # en: generation failed → no draft (counted in retrieval, not in draft metrics)
    _case("en", ["s4.md"], [H("6", "s4.md")], 40.0, drafts=[], timings_ms={"retrieve": 40.0, "total": 50.0}),
]


def test_summarise_with_drafts():
    s = summarise(DRAFT_CASES)
    assert s["cases"] == 4 and s["drafted_cases"] == 3
    assert s["must_mention_rate"] == pytest.approx(3 / 5, abs=1e-3)        # pooled: 2 + 0 + 1 of 2 + 1 + 2
    assert s["must_not_mention_violations"] == 1                            # the holding reply; saved text not scored
    assert s["citation_validity"] == 0.75                                   # "1","1" ok, "9" not, "5" ok
    assert s["grounded_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["style_pass_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["language_match_rate"] == pytest.approx(2 / 3, abs=1e-3)      # the en case was answered in zh
    assert s["saved_reply_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["first_token_ms"] == {"p50": 350.0, "p95": 395.0}
    assert s["draft_ms"] == {"p50": 2500.0, "p95": 2950.0}                  # cases with a model draft only
    assert s["first_draft_ms"] == {"p50": 25.0, "p95": 362.5}
    assert (s["escalation_precision"], s["escalation_recall"], s["escalation_accuracy"]) == (1.0, 1.0, 1.0)
    zh, en = s["by_language"]["zh"], s["by_language"]["en"]
    assert (zh["must_mention_rate"], zh["must_not_mention_violations"], zh["citation_validity"]) == (0.667, 1, 0.667)
    assert (zh["grounded_rate"], zh["style_pass_rate"], zh["language_match_rate"]) == (1.0, 0.5, 1.0)
    assert (en["drafted_cases"], en["must_mention_rate"], en["language_match_rate"], en["grounded_rate"]) == \
        (1, 0.5, 0.0, 0.0)
    assert en["first_token_ms"] == {"p50": 400.0, "p95": 400.0}
    assert set(zh) == set(en) == set(s) - {"by_language"}


def test_summarise_design_keys():
    """DESIGN §4: the keys `python -m eval run --json` must keep."""
    retrieval = {"cases", "recall_at_1", "recall_at_5", "mrr_at_10", "retrieval_ms", "by_language"}
    drafts = retrieval | {"must_mention_rate", "must_not_mention_violations", "citation_validity", "grounded_rate",
                          "style_pass_rate", "escalation_precision", "escalation_recall", "first_token_ms",
                          "draft_ms", "escalation_accuracy", "language_match_rate", "saved_reply_rate",
                          "first_draft_ms"}
    assert retrieval <= set(summarise(RETRIEVAL_CASES))
    assert drafts <= set(summarise(DRAFT_CASES))
    assert set(summarise(DRAFT_CASES)["retrieval_ms"]) == {"p50", "p95"}


def test_summarise_with_drafts_forced_on_empty():
    s = summarise([_case("en", [], [], 1.0)], with_drafts=True)
    assert s["drafted_cases"] == 0 and s["must_mention_rate"] is None and s["first_token_ms"]["p50"] is None


def test_saved_reply_sweep_counts_coverage_and_precision():
    from eval.calibrate import sweep

    records = [{"score": 1.0, "right": True}, {"score": 0.7, "right": True}, {"score": 0.62, "right": False},
               {"score": None, "right": False}]
    assert sweep(records, [0.6, 0.65, 0.95]) == [
        {"threshold": 0.6, "offered": 3, "coverage": 0.75, "precision": 0.667},
        {"threshold": 0.65, "offered": 2, "coverage": 0.5, "precision": 1.0},
        {"threshold": 0.95, "offered": 1, "coverage": 0.25, "precision": 1.0},
    ]
    assert sweep([], [0.5]) == [{"threshold": 0.5, "offered": 0, "coverage": 0.0, "precision": None}]


@pytest.mark.parametrize("text, mention, match, not_match, expected", [
    ("满99元包邮", ["99"], [r"满\s*99"], [r"满\s*(45|59)"], True),
    ("满45元包邮", ["包邮"], [r"满\s*99"], [], False),                         # no must_match matches
    ("Opened tea can be returned", [], [], [r"(?<!not )(?<!cannot )be returned"], False),
    ("Opened tea cannot be returned", [], [r"cannot|can't"], [r"^(yes|sure)\b"], True),
    ("Yes, within 7 days", ["7"], [], [r"^(yes|sure)\b"], False),             # case-insensitive must_not_match
    ("no criteria at all", [], [], [], True),
    ("Free over ¥99", ["¥99", "¥8"], [], [], False),                         # every must_mention needed
])
def test_is_correct(text, mention, match, not_match, expected):
    assert metrics.is_correct(text, mention, match, not_match) is expected


def test_summarise_correct_rates_and_answerable():
    base = {"gold_sources": ["a.md"], "hits": [], "timings_ms": {}}
    cases = [
        {**base, "lang": "en", "must_match": ["¥99"], "suggested_answerable": True,
         "drafts": [{"origin": "composed", "text": "Free over ¥99"}, {"origin": "model", "text": "Free over ¥45"}]},
        {**base, "lang": "zh", "must_match": ["99"], "suggested_answerable": True,
         "drafts": [{"origin": "composed", "text": "满99包邮"}, {"origin": "model", "text": "满99元包邮"}]},
        {**base, "lang": "en", "must_match": ["7 days"], "suggested_answerable": False,
         "drafts": [{"origin": "holding", "text": "Let me check."}]},
        {"lang": "en", "gold_sources": [], "answerable": False, "suggested_answerable": True, "hits": [],
         "drafts": [{"origin": "composed", "text": "x"}]},                   # no criteria: not in correct_rate
        {"lang": "en", "gold_sources": [], "suggested_answerable": False, "expect_escalation": True, "hits": [],
         "drafts": []},                                                       # escalation: not judged
    ]
    s = metrics.summarise(cases)
    assert s["correct_rate"] == round(2 / 3, 3) and s["model_correct_rate"] == 0.5
    assert (s["answerable_cases"], s["answerable_precision"], s["answerable_recall"]) == (4, round(2 / 3, 3),
                                                                                        round(2 / 3, 3))
    assert s["by_language"]["zh"]["correct_rate"] == 1.0 and s["by_language"]["en"]["model_correct_rate"] == 0.0
    retrieval_only = metrics.summarise([{**c, "drafts": None} for c in cases], with_drafts=False)
    assert "correct_rate" not in retrieval_only and retrieval_only["answerable_precision"] == round(2 / 3, 3)
