"""`python -m eval saved`: coverage and precision of the saved-reply fast path per threshold (eval.calibrate)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from eval.calibrate import best_saved_replies, sweep
from eval.run import load_eval_set
from suggest.pipeline import Copilot

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class SavedOptions:
    index: str
    eval_set: str  # echoed in the output as typed
    today: date


@dataclass(frozen=True)
class SavedReport:
    eval_set: str
    cases: int  # non-escalation cases
    current_threshold: float
    overall: list[dict[str, Any]]  # one row a threshold: threshold, offered, coverage, precision
    by_language: dict[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "current_threshold": self.current_threshold, "overall": self.overall,
                "by_language": self.by_language}

    def text(self) -> str:
        lines = [f"saved-reply fast path on {self.eval_set}: {self.cases} non-escalation cases "
                 f"(current threshold {self.current_threshold})",
                 f"{'threshold':>9}  {'scope':<5} {'offered':>7} {'coverage':>8} {'precision':>9}"]
        for scope, rows in [("all", self.overall), *self.by_language.items()]:
            for row in rows:
                precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
                lines.append(f"{row['threshold']:>9.2f}  {scope:<5} {row['offered']:>7} {row['coverage']:>8.3f} "
                             f"{precision:>9}")
        return "\n".join(lines)


def run_saved(options: SavedOptions) -> SavedReport:
    """The best saved-reply candidate of every non-escalation case, swept over the thresholds."""
    cases = load_eval_set(options.eval_set)
    copilot = Copilot.open(options.index)
    records = best_saved_replies(cases, copilot, options.today)
    return SavedReport(eval_set=options.eval_set, cases=len(records),
                       current_threshold=copilot.settings.saved_reply_threshold, overall=sweep(records),
                       by_language={lang: sweep([r for r in records if r["lang"] == lang]) for lang in LANGUAGES})
