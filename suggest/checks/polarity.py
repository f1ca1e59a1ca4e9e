"""Polarity: the evidence denies something the draft affirms, or affirms what the draft denies.

Clause by clause: each draft clause is matched to the evidence clause that shares most content words with it (a
bare "可以的" / "Yes" / "Sorry, it doesn't" takes the message's words), and the two must agree on negation.
Negations in other words agree ("暂不支持" / "目前还不能"); idioms ("不用担心", "No need to worry") and double
negations ("不是不能") deny nothing.

>>> [c.span for c in check_polarity("已经发货了也可以继续修改收货地址。", ["已经发货的订单无法再改地址。"], "改地址", "zh")]
['已经发货了也可以继续修改收货地址']
>>> check_polarity("目前还不能货到付款。", ["暂不支持货到付款。"], "能货到付款吗", "zh")
[]
"""
from __future__ import annotations

from typing import Sequence

from core.types import Check
from suggest.checks.clauses import Clause, clauses, content_terms
from suggest.checks.spans import finding
from suggest.checks.texts import say

# A draft clause and an evidence clause are about the same thing when they share this many content words, or at
# least this part of the evidence clause's ("Even though it has shipped" shares one of five with "Once it has
# shipped the address can no longer be changed": not enough to say the address clause is contradicted).
MIN_SHARED = 2
MIN_SHARED_PART = 1 / 3


def _about_same(shared: int, candidate: Clause) -> bool:
    return shared >= MIN_SHARED or (shared >= 1 and shared >= MIN_SHARED_PART * len(candidate.terms))


def best_matches(terms: frozenset[str], candidates: Sequence[Clause]) -> list[Clause]:
    """The candidate clauses about the same thing as `terms` that share the most content words; ties all kept."""
    scored = [(len(terms & c.terms), c) for c in candidates]
    scored = [(s, c) for s, c in scored if _about_same(s, c)]
    top = max((s for s, _ in scored), default=0)
    return [c for s, c in scored if s == top]


def polarity_conflicts(draft: str, evidence_texts: Sequence[str], message: str = "") -> list[tuple[Clause, Clause]]:
    """(draft clause, evidence clause) pairs whose negation disagrees, in draft order."""
    evidence = [c for t in evidence_texts for c in clauses(t) if c.negated is not None and c.terms]
    if not evidence:
        return []
    asked = content_terms(message)
    conflicts = []
    for clause in clauses(draft):
        if clause.negated is None:
            continue
        best = best_matches(asked if clause.answer else clause.terms, evidence)
        if best and all(e.negated != clause.negated for e in best):
            conflicts.append((clause, best[0]))
    return conflicts


def check_polarity(draft: str, evidence_texts: Sequence[str], message: str, lang: str) -> list[Check]:
    """An error for each draft clause that says the opposite of the evidence clause it matches."""
    checks = []
    for clause, evidence in polarity_conflicts(draft, evidence_texts, message):
        text = say("grounding.polarity", lang, clause.text, evidence=evidence.text)
        checks.append(finding("polarity", "error", text, draft, clause.start, clause.end))
    return checks
