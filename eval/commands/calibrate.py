"""`python -m eval calibrate`: the answerable confidence threshold, chosen on tune splits, reported on heldout too.

A composed or saved reply is offered as the draft only when the answerable gate (suggest/answerable.py) reaches its
threshold; `--fit` refits the gate on the tune records first and writes suggest/answerable.json.
The threshold chosen is the lowest from which on the gate's precision (offered drafts whose message the knowledge
answers) stays at least TARGET_PRECISION on the tune cases (sets with vague and unanswerable messages included);
the heldout cases are only reported. `right_precision` is stricter: the evidence also comes from a gold source.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from eval.calibrate import CONFIDENCE_THRESHOLDS, TARGET_PRECISION, answerable_row, choose_threshold, confidence_records
from eval.gate_fit import fit_gate
from eval.report import table
from eval.run import load_eval_set
from suggest.answerable import GATE_FILE, load_gate
from suggest.pipeline import Copilot

DEFAULT_SETS = ("eval/sets/demo_unanswerable.jsonl", "eval/sets/vague.jsonl", "eval/sets/demo_correct.jsonl",
                "eval/sets/demo.jsonl")
SPLITS = ("tune", "heldout")
SHOWN = ("offered", "right_precision", "answerable_precision", "answerable_recall", "unanswerable_precision",
         "unanswerable_recall")


@dataclass(frozen=True)
class CalibrateOptions:
    index: str
    today: date
    sets: tuple[str, ...] = DEFAULT_SETS
    fit: bool = False  # refit the answerable gate on the tune records and write suggest/answerable.json


@dataclass(frozen=True)
class CalibrateReport:
    sets: tuple[str, ...]
    cases: dict[str, int]  # per split
    current_threshold: float
    chosen_threshold: float | None
    rows: dict[str, list[dict[str, Any]]]  # per split, one row a threshold

    def to_dict(self) -> dict[str, Any]:
        at_current = {s: next(r for r in self.rows[s] if r["threshold"] == self.current_threshold) for s in SPLITS}
        return {"sets": list(self.sets), "cases": self.cases, "target_precision": TARGET_PRECISION,
                "current_threshold": self.current_threshold, "chosen_threshold": self.chosen_threshold,
                "at_current": at_current, "rows": self.rows}

    def text(self) -> str:
        head = [f"answerable confidence on {', '.join(self.sets)}: tune {self.cases['tune']} cases, heldout "
                f"{self.cases['heldout']} (chosen on tune: {self.chosen_threshold}, current setting "
                f"{self.current_threshold}, target answerable precision {TARGET_PRECISION})"]
        rows = [[f"{t['threshold']:.3f}"] + [f"{t[k]} / {h[k]}" for k in SHOWN]
                for t, h in zip(self.rows["tune"], self.rows["heldout"])]
        return "\n".join(head + [table(["threshold"] + [f"{k} (tune / heldout)" for k in SHOWN], rows)])


def run_calibrate(options: CalibrateOptions, thresholds: Sequence[float] = CONFIDENCE_THRESHOLDS) -> CalibrateReport:
    copilot = Copilot.open(options.index)
    records = [r for path in options.sets for r in confidence_records(load_eval_set(path), copilot, options.today)]
    gate = load_gate()
    if options.fit:  # fitted on tune only; heldout stays a report
        gate = fit_gate([r for r in records if r["split"] == "tune"], copilot.retriever.index.manifest.embedding_model,
                        gate.fallback_threshold)
        GATE_FILE.write_text(json.dumps(gate.to_dict(), indent=2) + "\n", encoding="utf-8")
        load_gate.cache_clear()
        for r in records:
            r["confidence"] = round(gate.answerable(gate.embedder, r["features"])[1], 4)
    by_split = {s: [r for r in records if r["split"] == s] for s in SPLITS}
    rows = {s: [answerable_row(rs, t) for t in thresholds] for s, rs in by_split.items()}
    threshold = copilot.settings.answerable_threshold or gate.threshold
    if threshold not in thresholds:
        rows = {s: sorted(rows[s] + [answerable_row(by_split[s], threshold)], key=lambda r: r["threshold"])
                for s in SPLITS}
    return CalibrateReport(tuple(options.sets), {s: len(rs) for s, rs in by_split.items()}, threshold,
                           choose_threshold(rows["tune"]), rows)
