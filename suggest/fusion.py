"""Pure fusion of ranked lists: reciprocal-rank fusion and a min-max normalised weighted sum."""
from __future__ import annotations

from typing import Sequence

from core.errors import UserError

FUSIONS = ("rrf", "weighted", "dense", "keyword")  # the valid `fusion` settings: two hybrids, then one side alone
Ranking = Sequence[tuple[int, float]]  # (doc, score), best first


def rrf(rankings: Sequence[Ranking], k: int = 60, weights: Sequence[float] | None = None) -> dict[int, float]:
    """Reciprocal-rank fusion: score(d) = Σ w_list / (k + rank of d), ranks from 1, weights default 1.

    >>> rrf([[(1, .9), (2, .5)], [(2, 7.0), (3, 1.0)]], k=60) == {1: 1/61, 2: 1/62 + 1/61, 3: 1/62}
    True
    >>> rrf([[(1, .9)], [(2, 7.0)]], k=0, weights=[0.25, 0.75])
    {1: 0.25, 2: 0.75}
    """
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, (doc, _) in enumerate(ranking, 1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return fused


def minmax(ranking: Ranking) -> dict[int, float]:
    """Scores scaled to [0, 1] within one list (all equal → all 1).

    >>> minmax([(1, 4.0), (2, 2.0), (3, 0.0)])
    {1: 1.0, 2: 0.5, 3: 0.0}
    """
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    lo, hi = min(scores), max(scores)
    span = hi - lo
    return {doc: (s - lo) / span if span else 1.0 for doc, s in ranking}


def weighted(dense: Ranking, keyword: Ranking, dense_weight: float = 0.5) -> dict[int, float]:
    """w · minmax(dense) + (1 − w) · minmax(keyword); a document missing from one side gets 0 there.

    >>> weighted([(1, .8), (2, .4)], [(2, 9.0), (3, 3.0)], 0.5)
    {1: 0.5, 2: 0.5, 3: 0.0}
    """
    d, kw = minmax(dense), minmax(keyword)
    return {doc: dense_weight * d.get(doc, 0.0) + (1 - dense_weight) * kw.get(doc, 0.0) for doc in {**d, **kw}}


def check_fusion(method: str) -> str:
    """`method` when it names a fusion, else a UserError listing the valid ones.

    >>> check_fusion("magic")
    Traceback (most recent call last):
    core.errors.UserError: unknown fusion 'magic'; valid: rrf, weighted, dense, keyword
    """
    if method not in FUSIONS:
        raise UserError(f"unknown fusion {method!r}; valid: {', '.join(FUSIONS)}")
    return method


def fuse(dense: Ranking, keyword: Ranking, method: str = "rrf", k: int = 60,
         dense_weight: float = 0.5) -> list[tuple[int, float]]:
    """Fused (doc, score) list, best first; ties keep the dense order, then the keyword order.

    `dense_weight` is the dense side's share (the keyword side gets the rest) for both "rrf" and "weighted";
    an unknown `method` is a UserError.
    """
    if check_fusion(method) == "rrf":
        scores = rrf([dense, keyword], k, [dense_weight, 1 - dense_weight])
    elif method == "weighted":
        scores = weighted(dense, keyword, dense_weight)
    elif method == "dense":
        scores = {doc: s for doc, s in dense}
    else:
        scores = {doc: s for doc, s in keyword}
    first_seen: dict[int, int] = {}
    for i, (doc, _) in enumerate([*dense, *keyword]):
        first_seen.setdefault(doc, i)
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen.get(kv[0], 0)))
