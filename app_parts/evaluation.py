"""The evaluation view's helpers: list eval sets and saved runs, run a set and save it (the same file shape as
`python -m eval run --save`), flatten summaries into a comparison table, and draw the recall@k chart and the
latency histogram (matplotlib figures built without pyplot, so handlers on different threads do not collide).
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from core.errors import UserError
from eval.run import load_eval_set, run_eval
from eval.metrics import first_gold_rank
from eval import metrics

K_MAX = 10
MAIN_KEYS = ("cases", "gold_cases", "recall_at_1", "recall_at_5", "mrr_at_10", "retrieval_ms",
             "escalation_precision", "escalation_recall", "must_mention_rate", "must_not_mention_violations",
             "citation_validity", "grounded_rate", "style_pass_rate", "language_match_rate", "saved_reply_rate",
             "first_token_ms", "first_draft_ms", "draft_ms", "errors")
LANG_KEYS = ("recall_at_1", "recall_at_5", "mrr_at_10")
COLORS = ("#2563eb", "#16a34a", "#d97706", "#9333ea")


def list_sets(folder: str | Path) -> list[str]:
    folder = Path(folder)
    return sorted(p.as_posix() for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def set_choices(folder: str | Path) -> list[tuple[str, str]]:
    """(file name, path) of the eval sets, for a dropdown."""
    return [(Path(p).name, p) for p in list_sets(folder)]


def list_runs(folder: str | Path) -> list[tuple[str, str]]:
    """(label, path) of saved runs, newest first."""
    folder = Path(folder)
    out = []
    for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict) or "summary" not in data:
            continue
        mode = "drafts" if data.get("draft") else "retrieval"
        out.append((f"{p.stem} · {Path(str(data.get('eval_set', '?'))).name} · {mode}", p.as_posix()))
    return out


def load_run(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read saved run {path}: {e}") from None
    if not isinstance(data, dict) or "summary" not in data:
        raise UserError(f"{path} is not a saved eval run")
    return data


def run_set(service: Any, set_path: str | Path, draft: bool = False,
            progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, Any], Path]:
    """Run an eval set on the live Copilot and save it under the runs folder. Returns (run, path)."""

    set_path = Path(set_path)
    allowed = {Path(p).resolve() for p in list_sets(service.eval_sets_dir)}
    if set_path.resolve() not in allowed:
        raise UserError(f"{set_path} is not one of the eval sets in {service.eval_sets_dir}")
    cases = load_eval_set(set_path)
    copilot = service.copilot
    today = service.today()
    per_case: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    # run in slices so the page can show progress (run_eval itself reports to the terminal only)
    step = max(1, len(cases) // 20)

    for start in range(0, len(cases), step):
        _, part = run_eval(cases[start:start + step], copilot, today, draft=draft, progress=False)
        per_case.extend(part)
        if progress:
            progress(len(per_case), len(cases))
    summary = metrics.summarise(per_case, with_drafts=draft)
    summary["errors"] = sum(1 for r in per_case if "error" in r)
    s = copilot.settings
    run = {"kind": "eval_run", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "eval_set": set_path.as_posix(), "index": str(service.index_dir), "today": today.isoformat(),
           "draft": draft, "settings": {k: getattr(s, k) for k in ("fusion", "top_k", "embed_model", "backend",
                                                                   "model", "llm_threads", "saved_reply_threshold",
                                                                   "dense_index")},
           "summary": summary, "cases": per_case}
    folder = Path(service.eval_runs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", set_path.stem)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{'drafts' if draft else 'retrieval'}.json"
    path.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    return run, path


def flatten(summary: Mapping[str, Any]) -> dict[str, Any]:
    """{metric name: number} with {p50, p95} split out and the per-language retrieval metrics added."""
    out: dict[str, Any] = {}
    for key in MAIN_KEYS:
        value = summary.get(key)
        if isinstance(value, Mapping):
            for q, v in value.items():
                out[f"{key} {q}"] = v
        elif key in summary:
            out[key] = value
    for lang, sub in sorted((summary.get("by_language") or {}).items()):
        for key in LANG_KEYS:
            if key in sub:
                out[f"{key} [{lang}]"] = sub[key]
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def metric_rows(summary: Mapping[str, Any], earlier: Mapping[str, Any] | None = None) -> list[list[str]]:
    """[metric, this run, earlier run, change] rows."""
    now, before = flatten(summary), flatten(earlier or {})
    rows = []
    for key in list(now) + [k for k in before if k not in now]:
        a, b = now.get(key), before.get(key)
        delta = ""
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            d = a - b
            delta = "0" if d == 0 else f"{d:+.3f}" if abs(d) < 10 else f"{d:+.1f}"
        rows.append([key, _fmt(a), _fmt(b) if earlier else "", delta])
    return rows


def recall_curve(cases: Sequence[Mapping[str, Any]], lang: str | None = None, k_max: int = K_MAX) -> list[float]:
    """recall@k for k = 1..k_max over the cases with gold sources (optionally one language)."""

    ranks = [first_gold_rank(c.get("hits") or [], c["gold_sources"]) for c in cases
             if c.get("gold_sources") and (lang is None or c.get("lang") == lang)]
    if not ranks:
        return []
    return [sum(1 for r in ranks if 0 < r <= k) / len(ranks) for k in range(1, k_max + 1)]


def recall_figure(cases: Sequence[Mapping[str, Any]], earlier: Sequence[Mapping[str, Any]] | None = None) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.4), dpi=100)
    ax = fig.add_subplot(111)
    ks = list(range(1, K_MAX + 1))
    series = [("this run", recall_curve(cases), "-", COLORS[0])]
    for i, lang in enumerate(sorted({c.get("lang") for c in cases if c.get("lang")})):
        series.append((f"this run [{lang}]", recall_curve(cases, lang), ":", COLORS[(i + 1) % len(COLORS)]))
    if earlier:
        series.append(("earlier run", recall_curve(earlier), "--", "#6b7280"))
    for label, ys, style, color in series:
        if ys:
            ax.plot(ks, ys, style, marker="o", markersize=3, label=label, color=color)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Recall@k", fontsize=10)
    fig.tight_layout()
    return fig


def latencies(cases: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [float(c["timings_ms"][key]) for c in cases if (c.get("timings_ms") or {}).get(key) is not None]


def latency_figure(cases: Sequence[Mapping[str, Any]], earlier: Sequence[Mapping[str, Any]] | None = None) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.4), dpi=100)
    ax = fig.add_subplot(111)
    key = "suggest_wall" if any("drafts" in c for c in cases) else "retrieve"
    now = latencies(cases, key)
    if now:
        ax.hist(now, bins=20, alpha=0.75, color=COLORS[0], label=f"this run ({key})")
    if earlier:
        before = latencies(earlier, key)
        if before:
            ax.hist(before, bins=20, alpha=0.45, color="#6b7280", label="earlier run")
    ax.set_xlabel("milliseconds")
    ax.set_ylabel("cases")
    ax.set_title("Latency per case", fontsize=10)
    ax.grid(alpha=0.3)
    if now:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


CASE_HEADERS = ["id", "lang", "question", "gold rank", "escalate", "ms", "error"]


def case_rows(cases: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for c in cases:
        scores = c.get("scores") or {}
        timings = c.get("timings_ms") or {}
        rank = scores.get("gold_rank")
        rows.append([c.get("id", ""), c.get("lang", ""), str(c.get("question", ""))[:80],
                     "" if rank is None else ("miss" if rank == 0 else rank), "yes" if c.get("escalate") else "",
                     round(float(timings.get("suggest_wall", timings.get("retrieve", 0)) or 0), 1),
                     c.get("error", "")])
    return rows
