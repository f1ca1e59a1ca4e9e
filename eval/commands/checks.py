"""`python -m eval checks`: how well the draft checks catch wrong drafts, on a set of labelled drafts.

Each line of the set (eval/sets/drafts_labelled.jsonl, described in eval/sets/README.md) holds a message, the
evidence sentences a draft was written from, the draft, its label (right / wrong) and, for a wrong one, its
error types. Every draft goes through `check_draft` with the evidence sentences as the passages and the shop
profile of the knowledge folder. A wrong draft is caught when any error-severity check fires; a false alarm is an
error check firing on a right draft. Reported for the tune and heldout splits side by side, overall, per language,
per error type and per check.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from core.errors import UserError
from core.settings import ShopProfile, load_shop
from core.types import Hit, Passage
from eval.report import table
from suggest.checks import check_draft

SPLITS = ("tune", "heldout")
LABELS = ("right", "wrong")


@dataclass(frozen=True)
class LabelledDraft:
    """One line of the set."""

    id: str
    lang: str
    message: str
    evidence: tuple[tuple[str, str], ...]  # (source, sentence)
    draft: str
    label: str
    errors: tuple[str, ...]
    split: str


@dataclass(frozen=True)
class Judged:
    """A labelled draft and the error checks that fired on it (check name → the spans it flagged)."""

    item: LabelledDraft
    fired: tuple[tuple[str, str], ...]

    @property
    def flagged(self) -> bool:
        return bool(self.fired)


@dataclass(frozen=True)
class ChecksEvalOptions:
    eval_set: Path
    knowledge: Path | None  # where shop.yaml is; None: the default shop profile
    show: bool = False  # list every missed wrong draft and every false alarm


def load_labelled(path: Path) -> list[LabelledDraft]:
    """The labelled drafts of a JSONL file; a bad line is a one-line UserError naming it."""
    if not path.is_file():
        raise UserError(f"labelled drafts file {path} not found")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            item = LabelledDraft(d["id"], d["lang"], d["message"],
                                 tuple((e["source"], e["sentence"]) for e in d["evidence"]), d["draft"], d["label"],
                                 tuple(d.get("errors", ())), d["split"])
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"{path}:{number}: not a labelled draft ({e})") from None
        if item.label not in LABELS or item.split not in SPLITS:
            raise UserError(f"{path}:{number}: label must be one of {LABELS} and split one of {SPLITS}")
        items.append(item)
    return items


def _hits(item: LabelledDraft) -> list[Hit]:
    return [Hit(Passage(id=f"{item.id}-{i}", source=source, title="", text=sentence), score=1.0)
            for i, (source, sentence) in enumerate(item.evidence, 1)]


def judge(item: LabelledDraft, shop: ShopProfile | None = None) -> Judged:
    """Run every draft check on one labelled draft."""
    checks = check_draft(item.message, item.draft, _hits(item), item.lang, shop=shop)
    return Judged(item, tuple((c.name, c.span) for c in checks if c.severity == "error"))


def _share(hits: int, n: int) -> dict[str, Any]:
    return {"hits": hits, "n": n, "rate": round(hits / n, 3) if n else None}


def _split_summary(judged: Sequence[Judged]) -> dict[str, Any]:
    wrong = [j for j in judged if j.item.label == "wrong"]
    right = [j for j in judged if j.item.label == "right"]
    by_lang = {lang: {"caught": _share(sum(j.flagged for j in wrong if j.item.lang == lang),
                                       sum(j.item.lang == lang for j in wrong)),
                      "false_alarms": _share(sum(j.flagged for j in right if j.item.lang == lang),
                                             sum(j.item.lang == lang for j in right))}
               for lang in sorted({j.item.lang for j in judged})}
    errors = sorted({e for j in wrong for e in j.item.errors})
    by_error = {e: _share(sum(j.flagged for j in wrong if e in j.item.errors),
                          sum(e in j.item.errors for j in wrong)) for e in errors}
    on_wrong = Counter(name for j in wrong for name in {n for n, _ in j.fired})
    on_right = Counter(name for j in right for name in {n for n, _ in j.fired})
    by_check = {name: {"wrong": on_wrong[name], "right": on_right[name]}
                for name in sorted(set(on_wrong) | set(on_right))}
    return {"caught": _share(sum(j.flagged for j in wrong), len(wrong)),
            "false_alarms": _share(sum(j.flagged for j in right), len(right)),
            "by_lang": by_lang, "by_error": by_error, "by_check": by_check}


@dataclass(frozen=True)
class ChecksReport:
    """Catch rate and false alarms per split; `judged` keeps every draft's findings for --show."""

    eval_set: str
    judged: tuple[Judged, ...]
    show: bool = False
    splits: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"set": self.eval_set, "splits": self.splits}
        if self.show:
            out["misses"] = [j.item.id for j in self.judged if j.item.label == "wrong" and not j.flagged]
            out["false_alarms"] = [{"id": j.item.id, "fired": [list(f) for f in j.fired]}
                                   for j in self.judged if j.item.label == "right" and j.flagged]
        return out

    def text(self) -> str:
        names = [s for s in SPLITS if s in self.splits]
        rows = [("wrong drafts caught", *(_cell(self.splits[s]["caught"]) for s in names)),
                ("false alarms on right drafts", *(_cell(self.splits[s]["false_alarms"]) for s in names))]
        for lang in sorted({lang for s in names for lang in self.splits[s]["by_lang"]}):
            for key, label in (("caught", "caught"), ("false_alarms", "false alarms")):
                rows.append((f"  {lang} {label}", *(_cell(self.splits[s]["by_lang"].get(lang, {}).get(key))
                                                    for s in names)))
        for error in sorted({e for s in names for e in self.splits[s]["by_error"]}):
            rows.append((f"  caught, error {error}", *(_cell(self.splits[s]["by_error"].get(error)) for s in names)))
        for check in sorted({c for s in names for c in self.splits[s]["by_check"]}):
            rows.append((f"  check {check} fires on wrong / right",
                         *(_fires(self.splits[s]["by_check"].get(check)) for s in names)))
        lines = [f"draft checks on {self.eval_set}", table(["", *names], rows)]
        if self.show:
            lines += self._details()
        return "\n".join(lines)

    def _details(self) -> list[str]:
        out = ["", "missed wrong drafts:"]
        out += [f"  {j.item.split:7} {j.item.id} {','.join(j.item.errors)}" for j in self.judged
                if j.item.label == "wrong" and not j.flagged]
        out += ["", "false alarms on right drafts:"]
        out += [f"  {j.item.split:7} {j.item.id} " + "; ".join(f"{n}: {s}" for n, s in j.fired)
                for j in self.judged if j.item.label == "right" and j.flagged]
        return out


def _cell(share: dict[str, Any] | None) -> str:
    return f"{share['hits']}/{share['n']} = {share['rate']:.3f}" if share and share["n"] else "—"


def _fires(counts: dict[str, int] | None) -> str:
    return f"{counts['wrong']} / {counts['right']}" if counts else "0 / 0"


def run_checks_eval(options: ChecksEvalOptions) -> ChecksReport:
    """Judge every labelled draft and summarise per split."""
    items = load_labelled(Path(options.eval_set))
    shop = load_shop(options.knowledge) if options.knowledge else None
    judged = tuple(judge(item, shop) for item in items)
    splits = {s: _split_summary([j for j in judged if j.item.split == s]) for s in SPLITS
              if any(j.item.split == s for j in judged)}
    return ChecksReport(str(options.eval_set), judged, options.show, splits)
