"""Calibrate the saved-reply fast path: at each threshold, how often a saved reply is offered (coverage) and how
often the offered one is right (precision) on an eval set.

A saved reply counts as right when it comes from a gold source, contains every `must_mention` string and none of
the `must_not_mention` ones. Cases that expect escalation are left out (they get a holding reply instead).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from eval.metrics import is_answerable, is_gold, mention_rate, violations
from suggest.answerable import GateModel, gate_features, load_gate
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


# ------------------------------------------------------------------------------------- answerable confidence
CONFIDENCE_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.30 … 0.95: gate probabilities
TARGET_PRECISION = 0.9


def confidence_records(cases: Sequence[dict[str, Any]], copilot: Copilot, today: date,
                       gate: GateModel | None = None) -> list[dict[str, Any]]:
    """For each case that does not expect escalation: its split, label, the evidence confidence and whether the
    best evidence sentence comes from a gold source (a composed draft from it would answer from the right place)."""
    gate = gate or load_gate()
    embedding_model = copilot.retriever.index.manifest.embedding_model
    out = []
    for case in cases:
        if case.get("expect_escalation"):
            continue
        found = copilot.retriever.search(case["question"], today)
        picked = copilot.evidence(case["question"], found)
        by_id = {h.id: h for h in found.hits}
        top = by_id.get(picked.evidence[0].hit_id) if picked.evidence else None
        features = gate_features(case["question"], found.hits, picked.confidence)
        out.append({"id": case["id"], "lang": found.language, "split": case.get("split", "tune"),
                    "answerable": is_answerable(case), "features": features,
                    "confidence": round(gate.answerable(embedding_model, features)[1], 4),
                    "evidence_gold": bool(top is not None and is_gold(top, case.get("gold_sources") or []))})
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def answerable_row(records: Sequence[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Precision and recall of "answerable" and of "unanswerable" when confidence ≥ threshold means answerable,
    and `right_precision`: the share of offered drafts whose case is answerable and whose evidence is gold.

    >>> r = answerable_row([{"confidence": 0.8, "answerable": True, "evidence_gold": True},
    ...                     {"confidence": 0.6, "answerable": False, "evidence_gold": False},
    ...                     {"confidence": 0.2, "answerable": False, "evidence_gold": False}], 0.5)
    >>> r["answerable_precision"], r["unanswerable_recall"], r["right_precision"]
    (0.5, 0.5, 0.5)
    """
    pred = [r["confidence"] >= threshold for r in records]
    gold = [r["answerable"] for r in records]
    tp = sum(p and g for p, g in zip(pred, gold))
    tn = sum(not p and not g for p, g in zip(pred, gold))
    right = sum(p and r["answerable"] and r["evidence_gold"] for p, r in zip(pred, records))
    return {"threshold": threshold, "offered": sum(pred),
            "answerable_precision": _ratio(tp, sum(pred)), "answerable_recall": _ratio(tp, sum(gold)),
            "unanswerable_precision": _ratio(tn, len(pred) - sum(pred)),
            "unanswerable_recall": _ratio(tn, len(gold) - sum(gold)),
            "right_precision": _ratio(right, sum(pred))}


def choose_threshold(rows: Sequence[dict[str, Any]], target: float = TARGET_PRECISION,
                     key: str = "answerable_precision") -> float | None:
    """The lowest threshold from which on `key` (default: the gate's precision, the share of offered drafts whose
    message the knowledge answers) stays at least `target` (None when it never does).

    >>> rows = [{"threshold": 0.4, "answerable_precision": 0.8}, {"threshold": 0.5, "answerable_precision": 0.92},
    ...         {"threshold": 0.6, "answerable_precision": 0.88}, {"threshold": 0.7, "answerable_precision": 0.95}]
    >>> choose_threshold(rows)
    0.7
    """
    ok = None
    for r in sorted(rows, key=lambda r: -r["threshold"]):
        if r[key] is None or r[key] < target:
            break
        ok = r["threshold"]
    return ok
