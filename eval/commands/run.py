"""`python -m eval run`: answer every case of an eval set with the copilot and report the DESIGN §4 metrics.

    report = run_set(RunOptions(eval_set="eval/sets/demo.jsonl", index="var/demo-index", today=date(2026, 11, 23),
                                draft=False))
    print(report.text())
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from core.settings import Settings, load_settings
from eval.report import table, write_json
from eval.run import load_eval_set, run_eval
from suggest.pipeline import Copilot

RUN_ROWS = [
    ("cases", "cases"), ("gold_cases", "cases with gold sources"), ("recall_at_1", "recall@1"),
    ("recall_at_5", "recall@5"), ("mrr_at_10", "MRR@10"), ("retrieval_ms", "retrieval ms p50 / p95"),
    ("escalation_cases", "cases with expect_escalation"), ("escalation_precision", "escalation precision"),
    ("escalation_recall", "escalation recall"), ("escalation_accuracy", "escalation accuracy"),
    ("drafted_cases", "drafted cases"), ("must_mention_rate", "must_mention rate"),
    ("must_not_mention_violations", "must_not_mention violations"), ("citation_validity", "citation validity"),
    ("grounded_rate", "grounded rate"), ("style_pass_rate", "style pass rate"),
    ("language_match_rate", "language match rate"), ("saved_reply_rate", "saved reply rate"),
    ("first_draft_ms", "first draft ms p50 / p95"), ("first_token_ms", "first token ms p50 / p95"),
    ("draft_ms", "draft ms p50 / p95"),
]
SAVED_SETTINGS = ("fusion", "top_k", "embed_model", "backend", "model", "llm_threads", "saved_reply_threshold",
                  "dense_index")


@dataclass(frozen=True)
class RunOptions:
    """Paths are kept as typed: they are echoed in the output and the saved run."""

    eval_set: str
    index: str
    today: date
    draft: bool = True
    fusion: str | None = None  # None: the shop's setting
    backend: str | None = None
    save: str | None = None  # also write the summary and per-case records here
    progress: bool = True


@dataclass(frozen=True)
class RunReport:
    options: RunOptions
    settings: Settings
    summary: dict[str, Any]
    cases: list[dict[str, Any]]
    created: str  # ISO time of the run (UTC)

    def to_dict(self) -> dict[str, Any]:
        return self.summary

    def saved_run(self) -> dict[str, Any]:
        """The saved-run file (--save) that the app's evaluation view compares."""
        o = self.options
        return {"kind": "eval_run", "created": self.created, "eval_set": o.eval_set, "index": o.index,
                "today": o.today.isoformat(), "draft": o.draft,
                "settings": {k: getattr(self.settings, k) for k in SAVED_SETTINGS},
                "summary": self.summary, "cases": self.cases}

    def text(self) -> str:
        o = self.options
        lines = [f"eval set {o.eval_set} on {o.index} (today {o.today}, fusion {self.settings.fusion}"
                 + (f", backend {self.settings.backend}" if o.draft else "") + ")", run_table(self.summary)]
        if self.summary.get("errors"):
            lines.append(f"{self.summary['errors']} case(s) failed; see the per-case records (--save)")
        if o.save:
            lines.append(f"saved summary and per-case results to {o.save}")
        return "\n".join(lines)


def run_table(summary: dict[str, Any]) -> str:
    """The metrics table: one row a metric, one column for all cases and one a language.

    >>> print(run_table({"cases": 2, "recall_at_1": 0.5, "by_language": {"en": {"cases": 1, "recall_at_1": 1.0}}}))
    metric      all     en
    --------  -----  -----
    cases         2      1
    recall@1  0.500  1.000
    """
    langs = sorted(summary.get("by_language", {}))
    cols = [summary] + [summary["by_language"][lang] for lang in langs]
    rows = [[label] + [c.get(key) for c in cols] for key, label in RUN_ROWS if key in summary]
    return table(["metric", "all"] + langs, rows)


def run_set(options: RunOptions) -> RunReport:
    """Score the eval set on the index (retrieval and escalation; drafts too unless `draft` is False)."""
    cases = load_eval_set(options.eval_set)
    settings = load_settings(options.index, fusion=options.fusion, backend=options.backend)
    copilot = Copilot.open(options.index, settings)
    summary, per_case = run_eval(cases, copilot, options.today, draft=options.draft, progress=options.progress)
    report = RunReport(options, settings, summary, per_case,
                       created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if options.save:
        write_json(options.save, report.saved_run())
    return report
