"""Evaluation metrics: pure functions over plain data (hit dicts or `Hit` objects, draft dicts or `Draft`s).

Conventions used throughout (and in `python -m eval run`):

- A retrieved hit is *gold* when its `source` or its `id` equals one of the case's `gold_sources` (DESIGN §4).
- `recall_at(hits, gold, k)` is 1.0 when at least one gold hit is among the first k, else 0.0 (the usual
  "success@k" for questions whose gold entries are alternatives); averaged over cases it is the share of cases
  answered within the top k.
- `reciprocal_rank` is 1 / rank of the first gold hit within the first k (0 when none).
- Percentiles use **linear interpolation** between closest ranks (numpy's default "linear" method).
- A metric with nothing to measure (no case with gold sources, no draft, no citation…) is `None` (JSON null),
  never 0, so an empty denominator cannot pass for a bad score.
- Which draft is scored for text metrics (must_mention, must_not_mention, grounded, style, language): the
  **model draft if the case has one, else the first draft** (a saved reply or a holding reply).
  Citation validity counts the citations of **every** draft of the case, including the ones the pipeline removed
  because they pointed outside the prompt (reported in a `citation` check): those count as invalid.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

from core.language import detect_language

GROUNDING_CHECKS = frozenset({"unsupported_fact", "unsupported_promise"})
STYLE_CHECKS = frozenset({"tone", "feelings_first"})
PERCENTILES = (50, 95)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Field `name` of a dict or an object (Hit, Draft, Check)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _hit_field(hit: Any, name: str) -> Any:
    value = _get(hit, name)
    if value is None and not isinstance(hit, Mapping) and hasattr(hit, "passage"):
        value = getattr(hit.passage, name, None)  # a Hit object keeps `source` on its passage
    return value


def is_gold(hit: Any, gold_sources: Iterable[str]) -> bool:
    """True when the hit's `source` or `id` equals a gold entry.

    >>> is_gold({"id": "a1", "source": "faq/returns.csv"}, ["faq/returns.csv"])
    True
    >>> is_gold({"id": "a1", "source": "faq/returns.csv"}, ["a1"]), is_gold({"id": "a1", "source": "x.md"}, ["y.md"])
    (True, False)
    """
    gold = set(gold_sources)
    return _hit_field(hit, "source") in gold or _hit_field(hit, "id") in gold


def first_gold_rank(ranked_hits: Sequence[Any], gold: Iterable[str]) -> int:
    """1-based rank of the first gold hit, 0 when there is none.

    >>> first_gold_rank([{"id": "a", "source": "x"}, {"id": "b", "source": "y"}], ["y"])
    2
    """
    gold = list(gold)
    for rank, hit in enumerate(ranked_hits, 1):
        if is_gold(hit, gold):
            return rank
    return 0


def recall_at(ranked_hits: Sequence[Any], gold: Iterable[str], k: int) -> float:
    """1.0 when a gold hit is among the first k hits, else 0.0.

    >>> hits = [{"id": "a", "source": "x"}, {"id": "b", "source": "y"}]
    >>> recall_at(hits, ["y"], 1), recall_at(hits, ["y"], 5)
    (0.0, 1.0)
    """
    rank = first_gold_rank(ranked_hits[:k], gold)
    return 1.0 if rank else 0.0


def reciprocal_rank(ranked_hits: Sequence[Any], gold: Iterable[str], k: int = 10) -> float:
    """1 / rank of the first gold hit within the first k hits (0.0 when none).

    >>> reciprocal_rank([{"id": "a", "source": "x"}, {"id": "b", "source": "y"}], ["y"])
    0.5
    """
    rank = first_gold_rank(ranked_hits[:k], gold)
    return 1.0 / rank if rank else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between closest ranks (None for no values).

    >>> percentile([1, 2, 3, 4], 50), percentile([10, 20], 95), percentile([], 50)
    (2.5, 19.5, None)
    """
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def percentiles(values: Sequence[float], qs: Sequence[int] = PERCENTILES, ndigits: int | None = 2
                ) -> dict[str, float | None]:
    """{"p50": …, "p95": …} (linear interpolation; values rounded to `ndigits`; None when empty).

    >>> percentiles([1, 2, 3, 4, 100])
    {'p50': 3.0, 'p95': 80.8}
    >>> percentiles([])
    {'p50': None, 'p95': None}
    """
    out: dict[str, float | None] = {}
    for q in qs:
        v = percentile(values, q)
        out[f"p{q}"] = None if v is None else (round(v, ndigits) if ndigits is not None else v)
    return out


def _found(text: str, needle: str) -> bool:
    return needle.casefold() in (text or "").casefold()


def mention_rate(text: str, must_mention: Sequence[str]) -> float | None:
    """Share of the `must_mention` strings found in `text`, case-insensitive (None when there are none).

    >>> mention_rate("Free shipping over ¥99", ["free SHIPPING", "¥99", "48 hours", "x"])
    0.5
    >>> mention_rate("anything", []) is None
    True
    """
    wanted = [m for m in must_mention if m]
    if not wanted:
        return None
    return sum(_found(text, m) for m in wanted) / len(wanted)


def violations(text: str, must_not_mention: Sequence[str]) -> list[str]:
    """The `must_not_mention` strings that occur in `text` (case-insensitive); its length is the count.

    >>> violations("We GUARANTEE a refund tomorrow", ["guarantee", "XMAS30"])
    ['guarantee']
    """
    return [m for m in must_not_mention if m and _found(text, m)]


def _removed_citations(draft: Any) -> int:
    """Citations the pipeline removed (a `citation` check lists them in its span, e.g. "[4] [7]")."""
    n = 0
    for check in _get(draft, "checks", None) or []:
        if _get(check, "name") == "citation":
            n += max(1, len((_get(check, "span", "") or "").split()))
    return n


def citation_counts(drafts: Sequence[Any], hits: Sequence[Any]) -> tuple[int, int]:
    """(valid, total) citations over `drafts`: valid = an id of a returned hit; removed ones count as invalid.
    `hits` are hit dicts, `Hit`s or plain ids.

    >>> hits = [{"id": "a", "source": "x"}, {"id": "b", "source": "y"}]
    >>> citation_counts([{"citations": ["a", "zz"]}, {"citations": ["b"], "checks": [
    ...     {"name": "citation", "span": "[7]"}]}], hits)
    (2, 4)
    """
    ids = {h if isinstance(h, str) else _hit_field(h, "id") for h in hits}
    valid = total = 0
    for d in drafts:
        cites = list(_get(d, "citations", None) or [])
        valid += sum(1 for c in cites if c in ids)
        total += len(cites) + _removed_citations(d)
    return valid, total


def citation_validity(drafts: Sequence[Any], hits: Sequence[Any]) -> float | None:
    """Share of the drafts' citations that are ids of returned hits (None when nothing is cited).

    >>> citation_validity([{"citations": ["a", "zz"]}], [{"id": "a", "source": "x"}])
    0.5
    >>> citation_validity([{"citations": []}], []) is None
    True
    """
    valid, total = citation_counts(drafts, hits)
    return valid / total if total else None


def precision_recall(pred: Sequence[bool], gold: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of boolean predictions; None where the denominator is 0.

    >>> precision_recall([True, True, False, False], [True, False, True, False])
    (0.5, 0.5)
    >>> precision_recall([False, False], [False, False])
    (None, None)
    """
    if len(pred) != len(gold):
        raise ValueError(f"pred and gold differ in length ({len(pred)} vs {len(gold)})")
    tp = sum(1 for p, g in zip(pred, gold) if p and g)
    n_pred, n_gold = sum(1 for p in pred if p), sum(1 for g in gold if g)
    return (tp / n_pred if n_pred else None, tp / n_gold if n_gold else None)


def accuracy(pred: Sequence[bool], gold: Sequence[bool]) -> float | None:
    """Share of equal pairs (None when empty).

    >>> accuracy([True, False, True, True], [True, True, True, True])
    0.75
    """
    if not pred:
        return None
    return sum(1 for p, g in zip(pred, gold) if bool(p) == bool(g)) / len(pred)


def scored_draft(drafts: Sequence[Any]) -> Any | None:
    """The draft whose text is scored: the model draft when there is one, else the first draft.

    >>> scored_draft([{"origin": "saved_reply", "text": "a"}, {"origin": "model", "text": "b"}])["text"]
    'b'
    >>> scored_draft([{"origin": "holding", "text": "h"}])["text"], scored_draft([])
    ('h', None)
    """
    for d in drafts:
        if _get(d, "origin", "model") == "model":
            return d
    return drafts[0] if drafts else None


def check_names(draft: Any) -> set[str]:
    return {_get(c, "name") for c in (_get(draft, "checks", None) or [])}


def is_grounded(draft: Any) -> bool:
    """No `unsupported_fact` / `unsupported_promise` finding on the draft.

    >>> is_grounded({"checks": [{"name": "tone"}]}), is_grounded({"checks": [{"name": "unsupported_fact"}]})
    (True, False)
    """
    return not (check_names(draft) & GROUNDING_CHECKS)


def style_passes(draft: Any) -> bool:
    """No `tone` / `feelings_first` finding on the draft.

    >>> style_passes({"checks": [{"name": "unsupported_fact"}]}), style_passes({"checks": [{"name": "tone"}]})
    (True, False)
    """
    return not (check_names(draft) & STYLE_CHECKS)


def _mean(values: Iterable[float | None], ndigits: int = 3) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return round(sum(xs) / len(xs), ndigits) if xs else None


def _share(num: int, den: int, ndigits: int = 3) -> float | None:
    return round(num / den, ndigits) if den else None


def _summarise_flat(results: Sequence[Mapping[str, Any]], with_drafts: bool) -> dict[str, Any]:
    gold_cases = [r for r in results if r.get("gold_sources")]
    out: dict[str, Any] = {"cases": len(results), "gold_cases": len(gold_cases)}
    out["recall_at_1"] = _mean(recall_at(r.get("hits") or [], r["gold_sources"], 1) for r in gold_cases)
    out["recall_at_5"] = _mean(recall_at(r.get("hits") or [], r["gold_sources"], 5) for r in gold_cases)
    out["mrr_at_10"] = _mean(reciprocal_rank(r.get("hits") or [], r["gold_sources"], 10) for r in gold_cases)
    out["retrieval_ms"] = percentiles([(r.get("timings_ms") or {}).get("retrieve") for r in results])

    esc = [r for r in results if isinstance(r.get("expect_escalation"), bool)]
    pred = [bool(r.get("escalate")) for r in esc]
    gold = [bool(r["expect_escalation"]) for r in esc]
    p, rec = precision_recall(pred, gold)
    out["escalation_cases"] = len(esc)
    out["escalation_precision"] = None if p is None else round(p, 3)
    out["escalation_recall"] = None if rec is None else round(rec, 3)
    acc = accuracy(pred, gold)
    out["escalation_accuracy"] = None if acc is None else round(acc, 3)
    if not with_drafts:
        return out

    drafted = [(r, scored_draft(r.get("drafts") or [])) for r in results]
    drafted = [(r, d) for r, d in drafted if d is not None]
    out["drafted_cases"] = len(drafted)
    found = wanted = 0
    for r, d in drafted:
        must = [m for m in r.get("must_mention") or [] if m]
        wanted += len(must)
        found += sum(1 for m in must if _found(_get(d, "text", ""), m))
    out["must_mention_rate"] = _share(found, wanted)
    out["must_not_mention_violations"] = sum(len(violations(_get(d, "text", ""), r.get("must_not_mention") or []))
                                             for r, d in drafted)
    valid = total = 0
    for r in results:
        v, t = citation_counts(r.get("drafts") or [], r.get("returned_ids", r.get("hits")) or [])
        valid, total = valid + v, total + t
    out["citation_validity"] = _share(valid, total)
    out["grounded_rate"] = _share(sum(is_grounded(d) for _, d in drafted), len(drafted))
    out["style_pass_rate"] = _share(sum(style_passes(d) for _, d in drafted), len(drafted))
    langs = [(r, d) for r, d in drafted if r.get("lang") and (_get(d, "text", "") or "").strip()]
    out["language_match_rate"] = _share(sum(detect_language(_get(d, "text")) == r["lang"] for r, d in langs),
                                        len(langs))
    out["saved_reply_rate"] = _share(sum(any(_get(x, "origin") == "saved_reply" for x in r.get("drafts") or [])
                                         for r, _ in drafted), len(drafted))
    timings = [r.get("timings_ms") or {} for r, _ in drafted]
    out["first_token_ms"] = percentiles([t.get("first_token") for t in timings])
    model_cases = [r.get("timings_ms") or {} for r, _ in drafted
                   if any(_get(x, "origin") == "model" for x in r.get("drafts") or [])]
    out["draft_ms"] = percentiles([t.get("total") for t in model_cases])
    out["first_draft_ms"] = percentiles([t.get("first_draft") for t in timings])
    return out


def summarise(case_results: Sequence[Mapping[str, Any]], with_drafts: bool | None = None) -> dict[str, Any]:
    """The DESIGN §4 summary of per-case results, overall and in `by_language`.

    A case result is a dict with: `lang`, `gold_sources`, `hits` (ranked hit dicts), `timings_ms` (`retrieve`;
    with drafts also `first_token`, `first_draft`, `total`), `escalate`, optional `expect_escalation`,
    `must_mention`, `must_not_mention`, and `drafts` (draft dicts with `text`, `citations`, `checks`, `origin`);
    optional `returned_ids` (the ids of the hits the suggestion returned, which its drafts may cite; default:
    the ids of `hits`).
    `with_drafts` defaults to "some case has a `drafts` key".

    Keys: `cases`, `gold_cases`, `recall_at_1`, `recall_at_5`, `mrr_at_10` (over cases with gold sources),
    `retrieval_ms` {p50, p95}, `escalation_cases`, `escalation_precision`, `escalation_recall`,
    `escalation_accuracy` (over cases with a boolean `expect_escalation`; escalation is decided before drafting,
    so these are reported with `--no-draft` too); with drafts also `drafted_cases`, `must_mention_rate` (share
    of all must_mention strings found), `must_not_mention_violations` (count), `citation_validity`,
    `grounded_rate`, `style_pass_rate`, `language_match_rate`, `saved_reply_rate`, `first_token_ms`, `draft_ms`
    (whole suggestion, for cases with a model draft), `first_draft_ms` (first usable draft: saved reply, first
    token or holding reply) {p50, p95}; and `by_language` {lang: the same keys}.

    >>> s = summarise([{"lang": "en", "gold_sources": ["a.md"], "hits": [{"id": "1", "source": "a.md"}],
    ...                 "timings_ms": {"retrieve": 4.0}}])
    >>> s["recall_at_1"], s["retrieval_ms"], s["by_language"]["en"]["mrr_at_10"]
    (1.0, {'p50': 4.0, 'p95': 4.0}, 1.0)
    """
    if with_drafts is None:
        with_drafts = any("drafts" in r for r in case_results)
    out = _summarise_flat(case_results, with_drafts)
    by_lang: dict[str, list[Mapping[str, Any]]] = {}
    for r in case_results:
        by_lang.setdefault(r.get("lang") or "?", []).append(r)
    out["by_language"] = {lang: _summarise_flat(rs, with_drafts) for lang, rs in sorted(by_lang.items())}
    return out
