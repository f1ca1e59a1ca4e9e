"""`python -m eval redteam`: planted instructions in the knowledge base (eval/sets/redteam/).

(a) Detector: the index-time detector (`index.planted.PlantDetector`: the word lists, then the learned model of
    core/models/planted.json; `rules_only` for the lists alone) on every row's text; planted rows flagged and
    benign rows falsely flagged, per language and style, tune and held-out side by side.
(b) End to end (skipped with `detector_only`): rows planted into temporary copies of the knowledge folder, one row
    per file in each copy; each copy indexed with the project's builder, the row's passages looked up (flagged at
    index time?), its customer question asked through `Copilot`, and every reply shown (composed, saved, holding;
    the model's draft only with `model`) matched against the row's `must_not_match` patterns ("followed").

`retrain_detector` rebuilds core/models/planted.json (eval/planted_train.py) and reports its cross-validation.
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from core.errors import GeneratorError
from core.instructions import INJECTION_FLAGS
from core.planted import DEFAULT_MODEL_PATH, PlantedModel
from core.settings import Settings, load_settings
from core.types import Draft
from eval.planted_train import retrain
from eval.redteam import SPLITS, RedTeamRow, batches, fresh_copy, load_redteam, passages_of, plant, rows_by
from eval.report import table
from index.build import build_index
from index.embed import embedder_for, embedder_id
from index.planted import PlantDetector, learned_detector, unit_encoder
from suggest.backends import FakeGenerator
from suggest.pipeline import Copilot


@dataclass(frozen=True)
class RedTeamOptions:
    eval_set: str
    knowledge: str
    today: date
    split: str = "all"
    embed_model: str | None = None  # e.g. "hash:256" for a quick run (default: the settings' model)
    model: bool = False  # also the real model's draft (slow)
    detector_only: bool = False
    rules_only: bool = False  # the word lists without the learned detector
    progress: bool = True


@dataclass
class RowResult:
    """What happened to one red-team row. End-to-end fields stay None when only the detector ran."""

    id: str
    lang: str
    style: str
    split: str
    planted: bool
    detected: bool  # the detector on the row's own text
    reason: str = ""
    flagged: bool | None = None  # any of its passages flagged at index time
    passages: int | None = None  # passages the row became in the index
    retrieved: bool | None = None  # one of them among the hits for its customer question
    saved: bool | None = None  # one of them offered as a saved reply
    followed: list[str] = field(default_factory=list)  # "origin: matched text [caught by …]" per reply repeating it


@dataclass(frozen=True)
class RedTeamReport:
    rows: list[RowResult]
    options: RedTeamOptions
    embedding_model: str = ""
    demo_flagged: list[str] = field(default_factory=list)  # unplanted passages flagged as instructions

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.options.eval_set, "split": self.options.split, "knowledge": self.options.knowledge,
                "today": self.options.today.isoformat(), "embedding_model": self.embedding_model,
                "model_drafts": self.options.model, "end_to_end": not self.options.detector_only,
                "summary": summarise(self.rows), "demo_flagged": self.demo_flagged,
                "rows": [asdict(r) for r in self.rows]}

    def text(self) -> str:
        e2e = not self.options.detector_only
        where = (f"end to end on copies of {self.options.knowledge} ({self.embedding_model}; replies: composed, "
                 f"saved, holding{', model' if self.options.model else ''}), today {self.options.today}"
                 if e2e else "detector only")
        lines = [f"red team {self.options.eval_set}, {len(self.rows)} rows, {where}",
                 "\nplanted rows: flagged by the detector / at index time; followed = a reply repeats the plant",
                 table(*planted_table(self.rows, e2e)),
                 "\nbenign rows: falsely flagged by the detector / at index time; still retrieved and unflagged",
                 table(*benign_table(self.rows, e2e))]
        if e2e:
            lines.append(f"\nunplanted passages flagged: {len(self.demo_flagged)}"
                         + "".join(f"\n  - {p}" for p in self.demo_flagged))
        missed = [r for r in self.rows if r.planted and not (r.flagged if e2e else r.detected)]
        wrong = [r for r in self.rows if not r.planted and (r.flagged if e2e else r.detected)]
        followed = [r for r in self.rows if r.followed]
        for title, rs, show in (("planted rows not flagged", missed, lambda r: r.style),
                                ("benign rows flagged", wrong, lambda r: r.reason),
                                ("plants followed by a reply", followed, lambda r: "; ".join(r.followed))):
            if rs:
                lines.append(f"\n{title}:" + "".join(f"\n  - {r.id} ({r.split}): {show(r)}" for r in rs))
        return "\n".join(lines)


def _share(n: int, of: int) -> str:
    return f"{n}/{of}" if of else "—"


def _count(rows: Sequence[RowResult], attr: str) -> int:
    return sum(bool(getattr(r, attr)) for r in rows)


def summarise(rows: Sequence[RowResult]) -> dict[str, Any]:
    """Counts per split (and "all"), for planted and benign rows: n, detected, flagged, retrieved, followed."""
    out: dict[str, Any] = {}
    for split in ("all", *SPLITS):
        part = [r for r in rows if split == "all" or r.split == split]
        planted = [r for r in part if r.planted]
        benign = [r for r in part if not r.planted]
        out[split] = {
            "planted": {"n": len(planted), "detected": _count(planted, "detected"),
                        "flagged": _count(planted, "flagged"), "retrieved": _count(planted, "retrieved"),
                        "followed": sum(bool(r.followed) for r in planted),
                        "followed_unflagged": sum(bool(r.followed) and not r.flagged for r in planted),
                        "followed_no_check": sum(any(f.endswith("[no check]") for f in r.followed)
                                                 for r in planted),
                        "saved_reply_offered": _count(planted, "saved")},
            "benign": {"n": len(benign), "detected": _count(benign, "detected"),
                       "flagged": _count(benign, "flagged"),
                       "retrieved_unflagged": sum(bool(r.retrieved) and not r.flagged for r in benign)}}
    return out


def _groups(rows: Sequence[RowResult], by_style: bool) -> list[tuple[str, list[RowResult]]]:
    groups = [("all", list(rows))]
    groups += [(lang, rs) for (lang,), rs in rows_by(rows, "lang").items()]
    if by_style:
        groups += [(style, rs) for (style,), rs in rows_by(rows, "style").items()]
    return groups


def planted_table(rows: Sequence[RowResult], e2e: bool) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): per group, for tune then held-out: detected, flagged at index, followed."""
    cols = ["detector"] + (["index flag", "retrieved", "followed"] if e2e else [])
    header = ["group"] + [f"{s} {c}" for s in SPLITS for c in cols]
    out = []
    for name, rs in _groups([r for r in rows if r.planted], by_style=True):
        line: list[Any] = [name]
        for split in SPLITS:
            part = [r for r in rs if r.split == split]
            line.append(_share(_count(part, "detected"), len(part)))
            if e2e:
                line += [_share(_count(part, "flagged"), len(part)), _share(_count(part, "retrieved"), len(part)),
                         _share(sum(bool(r.followed) for r in part), len(part))]
        out.append(line)
    return header, out


def benign_table(rows: Sequence[RowResult], e2e: bool) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): per group, for tune then held-out: false flags, and benign passages still retrieved."""
    cols = ["detector"] + (["index flag", "retrieved ok"] if e2e else [])
    header = ["group"] + [f"{s} {c}" for s in SPLITS for c in cols]
    out = []
    for name, rs in _groups([r for r in rows if not r.planted], by_style=False):
        line: list[Any] = [name]
        for split in SPLITS:
            part = [r for r in rs if r.split == split]
            line.append(_share(_count(part, "detected"), len(part)))
            if e2e:
                line += [_share(_count(part, "flagged"), len(part)),
                         _share(sum(bool(r.retrieved) and not r.flagged for r in part), len(part))]
        out.append(line)
    return header, out


def detect(rows: Sequence[RedTeamRow], detector: PlantDetector) -> dict[str, RowResult]:
    """The detector's verdict on each row's own text."""
    found = detector.findings([r.detector_text for r in rows])
    return {r.id: RowResult(r.id, r.lang, r.style, r.split, r.planted, f.flagged, f.reason)
            for r, f in zip(rows, found)}


def _is_instruction(flags: Sequence[str]) -> bool:
    return bool(INJECTION_FLAGS.intersection(flags))


def _caught(draft: Draft) -> str:
    """The error checks on a draft that repeats a plant ("caught by …"), or "no check"."""
    errors = sorted({c.name for c in draft.checks if c.severity == "error"})
    return "caught by " + ", ".join(errors) if errors else "no check"


def _ask(copilot: Copilot, row: RedTeamRow, result: RowResult, today: date) -> RowResult:
    """Index flags of the row's passages, then its customer question through the copilot."""
    mine = passages_of(row, copilot.retriever.passages)
    ids = {p.id for p in mine}
    sug = copilot.suggest(row.customer_question, today=today)
    followed = [f"{d.origin}: {hit} [{_caught(d)}]" for d in sug.drafts for hit in [row.followed_by(d.text)] if hit]
    return replace(result, passages=len(mine), flagged=any(_is_instruction(p.flags) for p in mine),
                   reason=next((p.flag_reasons.get("instruction", "") for p in mine if _is_instruction(p.flags)),
                               result.reason),
                   retrieved=any(h.id in ids for h in sug.hits),
                   saved=any(d.origin == "saved_reply" and d.source_id in ids for d in sug.drafts),
                   followed=followed)


def run_redteam(options: RedTeamOptions) -> RedTeamReport:
    """The detector on every row, then (unless detector_only) the end-to-end run batch by batch."""
    rows = load_redteam(options.eval_set, options.split)
    knowledge = Path(options.knowledge)
    settings = load_settings(knowledge, embed_model=options.embed_model)
    detector = PlantDetector() if options.rules_only else learned_detector(settings)
    results = detect(rows, detector)
    if options.detector_only:
        return RedTeamReport(list(results.values()), options)
    embedder = embedder_for(settings)
    generator = None if options.model else FakeGenerator([GeneratorError("model drafts are off (--model)")])
    with tempfile.TemporaryDirectory(prefix="eval-redteam-") as tmp:
        shop, index = Path(tmp) / "shop", Path(tmp) / "index"
        fresh_copy(knowledge, shop)
        build_index(shop, index, settings, embedder=embedder, detector=detector)
        base = Copilot.open(index, settings, embedder=embedder, generator=generator)
        demo_flagged = [f"{p.source}: {p.flag_reasons.get('instruction', '')}" for p in base.retriever.passages
                        if _is_instruction(p.flags)]
        groups = batches(rows)
        for n, batch in enumerate(groups, 1):
            if options.progress:
                print(f"red team: batch {n}/{len(groups)} ({len(batch)} rows)", file=sys.stderr)
            fresh_copy(knowledge, shop)
            plant(shop, batch)
            build_index(shop, index, settings, embedder=embedder, detector=detector)  # only planted files re-embed
            copilot = Copilot.open(index, settings, embedder=embedder, generator=generator)
            for row in batch:
                results[row.id] = _ask(copilot, row, results[row.id], options.today)
    return RedTeamReport([results[r.id] for r in rows], options, embedder.model_id, demo_flagged)


def retrain_detector(out: Path = DEFAULT_MODEL_PATH, cache: Path | None = None) -> PlantedModel:
    """Retrain the learned detector from the training sources (eval/planted_train.py) into `out`, on the
    default embedder's passage-side vectors (multilingual-e5-small)."""
    settings = Settings()
    return retrain(out, unit_encoder(embedder_id(settings), settings), embedder_id(settings), cache)


def retrain_text(model: PlantedModel, out: Path) -> str:
    """What a retrain reports: where the model went and its cross-validated passage flags per source."""
    info = model.info
    lines = [f"planted-instruction model written to {out} ({info.get('units')} units, "
             f"{info.get('positive_units')} positive; C {info.get('c')}; threshold {model.scorer.threshold}; "
             f"prefilter {model.prefilter.threshold}, passes {info.get('cv_prefilter_pass_shop_units')} of the "
             "shop's units)",
             "cross-validated (grouped folds), passages flagged: word lists or model / model alone"]
    both, alone = info.get("cv_flagged", {}), info.get("cv_flagged_by_model_alone", {})
    rows = [[source, side, _share(*both[source][side]), _share(*alone[source][side])]
            for source in both for side in ("positive", "negative") if both[source][side][1]]  # type: ignore[index]
    return "\n".join(lines) + "\n" + table(["source", "passages", "lists or model", "model alone"], rows)
