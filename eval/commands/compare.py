"""`python -m eval compare`: keyword-only vs dense-only vs the two hybrid fusions on one knowledge folder.

Builds one index (temporary unless `index` is given) and scores retrieval for each fusion, overall and per
language; the findings name every metric on which a hybrid is below a single side.
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import load_settings
from eval.report import fmt_ms, table
from eval.run import compare_fusions, load_eval_set
from index.build import build_index
from suggest.pipeline import Copilot


@dataclass(frozen=True)
class CompareOptions:
    """Paths are kept as typed: they are echoed in the output."""

    knowledge: str
    eval_set: str
    today: date
    index: str | None = None  # build the index here and keep it (default: a temporary folder)
    progress: bool = True


@dataclass(frozen=True)
class CompareReport:
    fusions: dict[str, dict[str, Any]]  # fusion name → retrieval summary (eval.metrics.summarise)
    findings: list[str]
    knowledge: str
    eval_set: str
    today: date
    embedding_model: str
    passages: int
    index: str
    cases: int

    def to_dict(self) -> dict[str, Any]:
        return {"fusions": self.fusions, "findings": self.findings, "knowledge": self.knowledge,
                "eval_set": self.eval_set, "today": self.today.isoformat(), "embedding_model": self.embedding_model,
                "passages": self.passages, "index": self.index}

    def text(self) -> str:
        lines = [f"{self.eval_set} ({self.cases} cases) on {self.knowledge} ({self.passages} passages, "
                 f"{self.embedding_model}), today {self.today}; retrieval only, top 10 hits per case",
                 table(*compare_rows(self.fusions)),
                 "\nhybrid vs single sides: " + ("hybrid is not worse than keyword-only or dense-only on any metric, "
                                                 "overall or per language" if not self.findings else "")]
        return "\n".join(lines + [f"  - {f}" for f in self.findings])


def compare_rows(fusions: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of the comparison table: all cases first, then each language, one row a fusion."""
    header = ["fusion", "lang", "gold cases", "recall@1", "recall@5", "MRR@10", "p50 ms", "p95 ms"]
    rows = []
    langs = sorted({lang for s in fusions.values() for lang in s.get("by_language", {})})
    for scope in ["all"] + langs:
        for name, s in fusions.items():
            x = s if scope == "all" else s["by_language"].get(scope)
            if x is None:
                continue
            rows.append([name, scope, x["gold_cases"], x["recall_at_1"], x["recall_at_5"], x["mrr_at_10"],
                         fmt_ms(x["retrieval_ms"]["p50"]), fmt_ms(x["retrieval_ms"]["p95"])])
    return header, rows


def run_compare(options: CompareOptions) -> CompareReport:
    """Build the index (problems of the knowledge folder go to stderr) and score every fusion on it."""
    cases = load_eval_set(options.eval_set)
    settings = load_settings(options.knowledge)
    with tempfile.TemporaryDirectory(prefix="eval-compare-") as tmp:
        index_dir = Path(options.index) if options.index else Path(tmp) / "index"
        built = build_index(options.knowledge, index_dir, settings)
        for problem in built.problems:
            print(problem, file=sys.stderr)
        copilot = Copilot.open(index_dir, settings)
        result = compare_fusions(cases, copilot, options.today, progress=options.progress)
    return CompareReport(fusions=result["fusions"], findings=result["findings"], knowledge=options.knowledge,
                         eval_set=options.eval_set, today=options.today,
                         embedding_model=copilot.retriever.embedder.model_id, passages=built.passages,
                         index=options.index or "(temporary)", cases=len(cases))
