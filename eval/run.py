"""Run an eval set through the copilot and score it (`python -m eval run`).

    cases = load_eval_set("eval/sets/demo.jsonl")
    copilot = Copilot.open("var/demo-index")
    summary, per_case = run_eval(cases, copilot, date(2026, 11, 23), draft=False)

Retrieval metrics are computed on the top `RANK_K` (10) hits of a separate `Retriever.search` call, so MRR@10 is
really over ten hits whatever `top_k` the shop uses; `retrieval_ms` is that call's `retrieve` timing. Escalation
and drafts come from `Copilot.suggest` (which retrieves again with the shop's `top_k`). Warm-up calls run before
timing starts and are not counted: one retrieval (jieba's dictionary, the embedding model) and, with drafts, one
suggestion per language of the set (the generator's load and its cached system prompt).
"""
from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from eval import metrics
from core.errors import UserError
from core.language import detect_language

RANK_K = 10  # hits kept per case: enough for MRR@10
EVAL_FIELDS = ("id", "question", "lang", "gold_sources", "must_mention", "must_not_mention", "reference_reply",
               "expect_escalation", "category")
LIST_FIELDS = ("gold_sources", "must_mention", "must_not_mention")


def _fail(path: Path, line: int, why: str) -> UserError:
    return UserError(f"{path}:{line}: {why}")


def load_eval_set(path: str | Path) -> list[dict[str, Any]]:
    """The cases of a JSONL eval set (one JSON object a line; blank lines are skipped).

    Each case gets `id` (default "line-N"), `lang` (default: detected from the question) and empty lists for
    missing `gold_sources` / `must_mention` / `must_not_mention`. Raises UserError naming file:line for a line
    that is not a JSON object, a missing or empty `question`, a list field that is not a list of strings, a
    non-boolean `expect_escalation` or a repeated id; and for a missing or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"eval set {path} not found; pass a .jsonl file, e.g. eval/sets/demo.jsonl")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}); save the eval set as UTF-8") from None
    cases: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as e:
            raise _fail(path, n, f"invalid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(case, dict):
            raise _fail(path, n, "each line must be a JSON object like {\"question\": \"...\", \"gold_sources\": [...]}")
        question = case.get("question")
        if not isinstance(question, str) or not question.strip():
            raise _fail(path, n, "missing or empty \"question\"")
        for key in LIST_FIELDS:
            value = case.get(key, [])
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _fail(path, n, f"\"{key}\" must be a list of strings")
            case[key] = value
        if "expect_escalation" in case and not isinstance(case["expect_escalation"], bool):
            raise _fail(path, n, "\"expect_escalation\" must be true or false")
        case["id"] = str(case.get("id") or f"line-{n}")
        if case["id"] in seen:
            raise _fail(path, n, f"id {case['id']!r} repeats line {seen[case['id']]}")
        seen[case["id"]] = n
        case["lang"] = str(case.get("lang") or detect_language(question))
        case["line"] = n
        cases.append(case)
    if not cases:
        raise UserError(f"eval set {path} is empty; add one JSON object a line with at least a \"question\"")
    return cases


def score_case(record: dict[str, Any]) -> dict[str, Any]:
    """Per-case scores added to a case record (what the evaluation view lists case by case)."""
    hits, gold = record.get("hits") or [], record.get("gold_sources") or []
    scores: dict[str, Any] = {}
    if gold:
        rank = metrics.first_gold_rank(hits, gold)
        scores.update(gold_rank=rank, hit_at_1=bool(rank == 1), hit_at_5=bool(rank and rank <= 5))
    if isinstance(record.get("expect_escalation"), bool):
        scores["escalation_correct"] = bool(record.get("escalate")) == record["expect_escalation"]
    if "drafts" in record:
        d = metrics.scored_draft(record["drafts"])
        if d is not None:
            text = d.get("text", "")
            scores.update(
                scored_origin=d.get("origin"),
                must_mention_missing=[m for m in record.get("must_mention") or [] if m
                                      and m.casefold() not in text.casefold()],
                must_not_mention_found=metrics.violations(text, record.get("must_not_mention") or []),
                grounded=metrics.is_grounded(d), style_pass=metrics.style_passes(d),
                draft_language=detect_language(text) if text.strip() else None,
                citation_validity=metrics.citation_validity(record["drafts"], record.get("returned_ids", hits)))
    return scores


def _case_record(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case[k] for k in EVAL_FIELDS if k in case}


def _warm_up(cases: Sequence[dict[str, Any]], copilot: Any, today: date, draft: bool, k: int,
             fusion: str | None) -> None:
    """Untimed first calls: jieba's dictionary and the embedding model; with drafts, the generator's load and one
    suggestion per language (its cached system prompt), so the figures are those of a running copilot."""
    if not cases:
        return
    try:
        copilot.retriever.search(cases[0]["question"], today, k=k, fusion=fusion)
        if draft:
            for lang in dict.fromkeys(c["lang"] for c in cases):
                first = next(c for c in cases if c["lang"] == lang)
                copilot.suggest(first["question"], today=today, draft=True)
    except UserError:
        pass


def run_eval(cases: Sequence[dict[str, Any]], copilot: Any, today: date, draft: bool = True,
             progress: bool = True, fusion: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, per-case records) for `cases` answered by a `suggest.pipeline.Copilot`.

    `fusion` overrides the retrieval fusion of the ranking that is scored (default: the copilot's setting).
    A case whose question the copilot rejects (e.g. longer than max_message_chars) is kept with no hits and its
    `error`; it counts as a miss.
    """
    from tqdm import tqdm

    retriever = copilot.retriever
    k = max(RANK_K, copilot.settings.top_k)
    _warm_up(cases, copilot, today, draft, k, fusion)
    per_case: list[dict[str, Any]] = []
    bar = tqdm(cases, desc="eval" + (" (drafts)" if draft else ""), unit="case", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    for case in bar:
        record = _case_record(case)
        try:
            found = retriever.search(case["question"], today, k=k, fusion=fusion)
            record["hits"] = [h.to_dict() for h in found.hits]
            record["detected_lang"] = found.language
            t0 = time.perf_counter()
            sug = copilot.suggest(case["question"], today=today, draft=draft)
            wall = (time.perf_counter() - t0) * 1000
            record["escalate"] = sug.escalate
            record["escalation_reasons"] = list(sug.escalation_reasons)
            record["message_checks"] = [c.to_dict() for c in sug.message_checks]
            record["timings_ms"] = {**{key: round(float(v), 2) for key, v in sug.timings_ms.items()},
                                    "retrieve": round(float(found.timings_ms["retrieve"]), 2), "suggest_wall": round(wall, 2)}
            if draft:
                record["drafts"] = [d.to_dict() for d in sug.drafts]
                record["returned_ids"] = [h.id for h in sug.hits]  # what the drafts may cite
                if sug.errors:
                    record["errors"] = list(sug.errors)
        except UserError as e:
            record.update(hits=[], escalate=False, timings_ms={}, error=str(e))
            if draft:
                record["drafts"] = []
        record["scores"] = score_case(record)
        per_case.append(record)
    bar.close()
    summary = metrics.summarise(per_case, with_drafts=draft)
    summary["errors"] = sum(1 for r in per_case if "error" in r)
    return summary, per_case


HYBRIDS = ("rrf", "weighted")
SINGLE_SIDES = ("keyword", "dense")
COMPARE_FUSIONS = SINGLE_SIDES + HYBRIDS  # the single sides first: the baselines the hybrids must beat
COMPARED = (("recall_at_1", "recall@1"), ("recall_at_5", "recall@5"), ("mrr_at_10", "MRR@10"))


def compare_fusions(cases: Sequence[dict[str, Any]], copilot: Any, today: date,
                    fusions: Sequence[str] = COMPARE_FUSIONS, progress: bool = True) -> dict[str, Any]:
    """Retrieval-only summaries of the same cases for each fusion: {"fusions": {name: summary}, "findings": [...]}.

    `findings` states plainly every metric on which a hybrid fusion is below keyword-only or dense-only,
    overall or in one language (nothing is hidden or tuned away here).
    """
    results: dict[str, Any] = {}
    for fusion in fusions:
        summary, _ = run_eval(cases, copilot, today, draft=False, progress=progress, fusion=fusion)
        results[fusion] = summary
    return {"fusions": results, "findings": hybrid_findings(results)}


def hybrid_findings(results: dict[str, dict[str, Any]]) -> list[str]:
    """Sentences naming each metric where a hybrid fusion scores below a single side.

    >>> hybrid_findings({"keyword": {"recall_at_5": 0.9, "by_language": {}}, "dense": {"recall_at_5": 0.5,
    ...     "by_language": {}}, "rrf": {"recall_at_5": 0.8, "by_language": {}}})
    ['rrf is worse than keyword on recall@5 (all): 0.800 vs 0.900']
    """
    out = []
    scopes = ["all"] + sorted({lang for s in results.values() for lang in s.get("by_language", {})})
    for hybrid in (h for h in HYBRIDS if h in results):
        for scope in scopes:
            for key, label in COMPARED:
                mine = _scope(results[hybrid], scope).get(key)
                for side in (s for s in SINGLE_SIDES if s in results):
                    theirs = _scope(results[side], scope).get(key)
                    if mine is not None and theirs is not None and mine < theirs:
                        out.append(f"{hybrid} is worse than {side} on {label} ({scope}): {mine:.3f} vs {theirs:.3f}")
    return out


def _scope(summary: dict[str, Any], scope: str) -> dict[str, Any]:
    return summary if scope == "all" else summary.get("by_language", {}).get(scope, {})
