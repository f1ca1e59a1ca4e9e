"""Calibrate the saved-reply fast path: at each threshold, how often a saved reply is offered (coverage) and how
often the offered one is right (precision) on an eval set.

A saved reply counts as right when it comes from a gold source, contains every `must_mention` string and none of
the `must_not_mention` ones. Cases that expect escalation are left out (they get a holding reply instead).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from eval.metrics import is_gold, mention_rate, violations
from suggest.drafting import saved_reply, saved_reply_score
from suggest.pipeline import Copilot, usable

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)


def best_saved_replies(cases: Sequence[dict[str, Any]], copilot: Copilot, today: date) -> list[dict[str, Any]]:
    """For each case: the best saved-reply candidate's score and whether it is right (None when there is none)."""
    out = []
    for case in cases:
        if case.get("expect_escalation"):
            continue
        found = copilot.retriever.search(case["question"], today)
        lang = found.language
        draft = saved_reply(case["question"], usable(found.hits), lang, copilot.shop, threshold=0.0)
        if draft is None:
            out.append({"id": case["id"], "lang": lang, "score": None, "right": False})
            continue
        source = next(h for h in found.hits if h.id == draft.source_id)
        score = saved_reply_score(case["question"], source)
        right = (is_gold(source, case.get("gold_sources") or [])
                 and (mention_rate(draft.text, case.get("must_mention") or []) in (None, 1.0))
                 and not violations(draft.text, case.get("must_not_mention") or []))
        out.append({"id": case["id"], "lang": lang, "score": score, "right": bool(right)})
    return out


def sweep(records: Sequence[dict[str, Any]], thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, Any]]:
    """Coverage and precision per threshold.

    >>> sweep([{"score": 0.9, "right": True}, {"score": 0.7, "right": False}, {"score": None, "right": False}],
    ...       [0.65, 0.8])
    [{'threshold': 0.65, 'offered': 2, 'coverage': 0.667, 'precision': 0.5}, \
{'threshold': 0.8, 'offered': 1, 'coverage': 0.333, 'precision': 1.0}]
    """
    rows = []
    for t in thresholds:
        offered = [r for r in records if r["score"] is not None and r["score"] >= t]
        rows.append({"threshold": t, "offered": len(offered),
                     "coverage": round(len(offered) / len(records), 3) if records else 0.0,
                     "precision": round(sum(r["right"] for r in offered) / len(offered), 3) if offered else None})
    return rows
