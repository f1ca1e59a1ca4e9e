"""Training the planted-instruction detector (core/planted.py) deterministically.

Training units (sentence units, `core.planted.sentence_units`), each in a group that cross-validation never splits:

- every unit of the demo shop's own passages: negative (group: the document, both languages);
- the red-team TUNE rows (eval/sets/redteam/planted.jsonl): a planted row's units that are not shop text and that
  the word lists flag or that repeat the plant (`must_not_match`) are positive, its other new units are left out
  (a rewritten policy sentence beside the plant is neither); every unit of a benign row is negative. The held-out
  rows are never read here;
- eval/sets/redteam/train_extra.jsonl (written for training): planted rows' units positive, benign rows' negative;
- the `instruction` messages of the TRAIN split of eval/sets/messages/ (batches 03 and 06 are held out): positive.

Passages (a shop passage, a red-team row, an extra row, a message) are what is judged: a passage's score is its
best unit's probability. With folds grouped as above, the scorer's threshold is calibrated on the out-of-fold
passage scores (`few_flags_threshold`: no shop passage, and at most 1 % of the benign rows, that the word lists
leave alone reaches it), C is the one that then flags the most planted passages, and the prefilter's threshold
(n-grams and word lists, no embedding) keeps every unit the scorer flags out of fold; both are then fitted on
everything.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import UserError
from core.instructions import find_instructions
from core.planted import LinearScorer, PlantedModel, list_features, ngram_features, sentence_units
from core.signals import NEVER
from eval.logreg import fit_logistic, predict_logistic
from eval.redteam import load_redteam
from eval.understand_train import MESSAGES_DIR, average_precision, load_messages
from index.loaders import list_files, load_file

REPO = Path(__file__).resolve().parents[1]
REDTEAM_DIR = REPO / "eval" / "sets" / "redteam"
EXTRA_FILE = REDTEAM_DIR / "train_extra.jsonl"
SHOP_DIR = REPO / "data" / "demo-shop"
BUCKETS = 1024
NGRAM_SIZES = (1, 2, 3)
FOLDS = 5
C_GRID = (4.0, 16.0, 64.0)
PREFILTER_C = 16.0
PREFILTER_MARGIN = 0.5  # the prefilter's threshold is this share of the lowest prefilter score it must keep
BENIGN_FLAG_SHARE = 0.01  # false flags allowed on the benign rows (none on the shop's own passages)
CHUNK_CHARS = 400  # the shop's passages as the default settings chunk them
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class TrainPassage:
    """One judged text: its units with their labels (1 positive, 0 negative, -1 left out of training)."""

    key: str
    source: str  # "shop" | "tune" | "extra" | "message"
    group: str
    positive: bool
    units: tuple[str, ...]
    labels: tuple[int, ...]
    rules: bool  # the word lists flag it already


def _group_number(row_id: str) -> str:
    """rt-zh-012 and rt-en-012 (translations of each other) share a group; so do tx-zh-p003 and tx-en-p003."""
    return re.sub(r"-(?:zh|en)-", "-", row_id)


def shop_passages(folder: Path = SHOP_DIR) -> list[TrainPassage]:
    """Every passage of the shop: negative."""
    out = []
    for path in list_files(folder)[0]:
        for p in load_file(folder, path, CHUNK_CHARS).passages:
            text = f"{p.question}\n{p.text}"
            units = tuple(sentence_units(text))
            group = re.sub(r"\.(?:zh|en)\.\w+$", "", p.source)
            out.append(TrainPassage(f"shop:{p.id}", "shop", f"shop:{group}", False, units, (0,) * len(units),
                                    find_instructions(text).flagged))
    return out


def tune_passages(path: Path, shop_units: set[str]) -> list[TrainPassage]:
    """The tune split of the red-team set (the held-out rows are not read)."""
    out = []
    for row in load_redteam(path, "tune"):
        units = tuple(sentence_units(row.detector_text))
        if row.planted:
            labels = tuple(0 if u in shop_units else 1 if (find_instructions(u).flagged or row.followed_by(u))
                           else -1 for u in units)
        else:
            labels = (0,) * len(units)
        out.append(TrainPassage(row.id, "tune", _group_number(row.id), row.planted, units, labels,
                                find_instructions(row.detector_text).flagged))
    return out


def extra_passages(path: Path = EXTRA_FILE) -> list[TrainPassage]:
    """The rows written for training: every unit takes its row's label."""
    if not path.is_file():
        raise UserError(f"training rows {path} do not exist")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, planted, key = str(row["text"]), bool(row["planted"]), str(row["id"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UserError(f"{path}:{n}: not a training row ({type(e).__name__}: {e}); fix the line") from None
        units = tuple(sentence_units(text))
        out.append(TrainPassage(key, "extra", _group_number(key), planted, units, (int(planted),) * len(units),
                                find_instructions(text).flagged))
    return out


def message_passages(folder: Path = MESSAGES_DIR) -> list[TrainPassage]:
    """Customer messages labelled `instruction` in the train split, each one unit: positive."""
    out = []
    for m in load_messages(folder):
        if m.split == "train" and "instruction" in m.labels:
            unit = " ".join(m.text.split())
            out.append(TrainPassage(f"msg:{m.id}", "message", f"msg:{m.group}", True, (unit,), (1,),
                                    find_instructions(m.text).flagged))
    return out


def load_training(shop: Path = SHOP_DIR, redteam: Path = REDTEAM_DIR / "planted.jsonl", extra: Path = EXTRA_FILE,
                  messages: Path = MESSAGES_DIR) -> list[TrainPassage]:
    """All training passages, in a fixed order."""
    shop_rows = shop_passages(shop)
    shop_units = {u for p in shop_rows for u in p.units}
    return shop_rows + tune_passages(redteam, shop_units) + extra_passages(extra) + message_passages(messages)


def training_hash(passages: Sequence[TrainPassage]) -> str:
    """A short fingerprint of the training units and labels (recorded in the model file)."""
    h = hashlib.sha256()
    for p in passages:
        h.update(json.dumps([p.units, p.labels], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def fold_of(group: str, folds: int = FOLDS) -> int:
    """The fold a group falls in, fixed by its name.

    >>> fold_of("shop:policies/returns") == fold_of("shop:policies/returns")
    True
    """
    return zlib.crc32(group.encode("utf-8")) % folds


@dataclass(frozen=True)
class UnitTable:
    """The distinct labelled units (training rows) and, per passage, the rows of its units."""

    units: list[str]
    labels: np.ndarray
    folds: np.ndarray
    rows_of: list[list[int]]  # per passage: rows in `units` (left-out units included, for scoring)


def unit_table(passages: Sequence[TrainPassage]) -> UnitTable:
    """Units deduplicated per fold (a unit seen positive anywhere is positive; left-out units are scored only)."""
    index: dict[tuple[str, int], int] = {}
    units, labels, folds, rows_of = [], [], [], []
    for p in passages:
        fold = fold_of(p.group)
        rows = []
        for unit, label in zip(p.units, p.labels):
            key = (unit, fold)
            if key not in index:
                index[key] = len(units)
                units.append(unit)
                labels.append(label)
                folds.append(fold)
            row = index[key]
            labels[row] = max(labels[row], label)
            rows.append(row)
        rows_of.append(rows)
    return UnitTable(units, np.array(labels), np.array(folds), rows_of)


def passage_scores(unit_scores: np.ndarray, rows_of: Sequence[Sequence[int]]) -> np.ndarray:
    """Each passage's best unit score (0 for a passage with no unit).

    >>> passage_scores(np.array([0.1, 0.9, 0.3]), [[0, 2], [1], []]).tolist()
    [0.3, 0.9, 0.0]
    """
    return np.array([float(unit_scores[list(rows)].max()) if rows else 0.0 for rows in rows_of])


def out_of_fold(X: np.ndarray, table: UnitTable, c: float) -> np.ndarray:
    """Each unit's probability from a model trained on the labelled units of the other folds."""
    scores = np.zeros(len(table.units))
    labelled = table.labels >= 0
    for fold in range(FOLDS):
        test = table.folds == fold
        train = labelled & ~test
        w, b = fit_logistic(X[train], table.labels[train], c)
        scores[test] = predict_logistic(X[test], w, b)
    return scores


def few_flags_threshold(scores: np.ndarray, positive: np.ndarray, strict: np.ndarray, tolerant: np.ndarray,
                        allowed: int) -> float:
    """The lowest threshold that no `strict` score and at most `allowed` `tolerant` scores reach, set halfway
    between the highest score it must stay above and the lowest positive score over that; `NEVER` when no
    positive score is over it.

    >>> s = np.array([0.99, 0.9, 0.8, 0.7, 0.95]); pos = np.array([1, 1, 0, 0, 0])
    >>> few_flags_threshold(s, pos, np.array([0, 0, 1, 0, 0]), np.array([0, 0, 0, 1, 1]), 1)
    0.85
    >>> few_flags_threshold(s, pos, np.array([0, 0, 1, 0, 0]), np.array([0, 0, 0, 1, 1]), 0)
    0.97
    """
    scores = np.asarray(scores, dtype=np.float64)
    tolerated = np.sort(scores[np.asarray(tolerant, bool)])[::-1]
    ceiling = max(scores[np.asarray(strict, bool)].max(initial=0.0),
                  tolerated[allowed] if allowed < len(tolerated) else 0.0)
    above = scores[np.asarray(positive, bool) & (scores > ceiling)]
    return round(float((ceiling + above.min()) / 2), 6) if above.size else NEVER


def _flag_counts(passages: Sequence[TrainPassage], flagged: np.ndarray) -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for p, f in zip(passages, flagged):
        side = out.setdefault(p.source, {"positive": [0, 0], "negative": [0, 0]})["positive" if p.positive
                                                                                  else "negative"]
        side[0] += int(f)
        side[1] += 1
    return out


def train_planted(passages: Sequence[TrainPassage], vectors: np.ndarray, embedder: str,
                  buckets: int = BUCKETS) -> PlantedModel:
    """The model from the passages and the vectors of `unit_table(passages).units` (one row per unit)."""
    table = unit_table(passages)
    if len(vectors) != len(table.units):
        raise ValueError(f"{len(vectors)} vectors for {len(table.units)} units")
    grams = np.hstack([ngram_features(table.units, buckets, NGRAM_SIZES), list_features(table.units)])
    X = np.hstack([np.asarray(vectors, dtype=np.float64), grams])
    positive = np.array([p.positive for p in passages])
    already = np.array([p.rules for p in passages])
    strict = ~positive & ~already & np.array([p.source == "shop" for p in passages])
    tolerant = ~positive & ~already & ~strict
    allowed = int(BENIGN_FLAG_SHARE * (~positive & ~strict).sum())
    best = None
    for c in C_GRID:  # ascending: on a tie the stronger regularisation stays
        unit_oof = out_of_fold(X, table, c)
        scores = passage_scores(unit_oof, table.rows_of)
        threshold = few_flags_threshold(scores, positive, strict, tolerant, allowed)
        key = (int((positive & (already | (scores >= threshold))).sum()), average_precision(scores, positive))
        if best is None or key > best[0]:
            best = (key, c, threshold, unit_oof, scores)
    assert best is not None
    (_, ap), c, threshold, unit_oof, scores = best
    # the prefilter must let through every unit the scorer flags out of fold (with a margin)
    pre_oof = out_of_fold(grams, table, PREFILTER_C)
    needed = unit_oof >= threshold
    pre_threshold = round(float(PREFILTER_MARGIN * pre_oof[needed].min()), 6) if needed.any() else 1.01
    shop_rows = sorted({r for p, rows in zip(passages, table.rows_of) if p.source == "shop" for r in rows})
    labelled = table.labels >= 0
    w, b = fit_logistic(X[labelled], table.labels[labelled], c)
    pw, pb = fit_logistic(grams[labelled], table.labels[labelled], PREFILTER_C)
    info = {"units": int(labelled.sum()), "positive_units": int((table.labels == 1).sum()),
            "passages": len(passages), "folds": FOLDS, "c": c, "prefilter_c": PREFILTER_C,
            "cv_average_precision": round(ap, 4),
            "cv_flagged": _flag_counts(passages, already | (scores >= threshold)),
            "cv_flagged_by_model_alone": _flag_counts(passages, scores >= threshold),
            "cv_prefilter_pass_shop_units": round(float(np.mean(pre_oof[shop_rows] >= pre_threshold)), 4)
            if shop_rows else 0.0}
    return PlantedModel(embedder=embedder, buckets=buckets, ngram_sizes=NGRAM_SIZES,
                        prefilter=LinearScorer(pw, pb, pre_threshold), scorer=LinearScorer(w, b, threshold),
                        train_hash=training_hash(passages), info=info)


def cached_vectors(units: Sequence[str], encode: Encode, cache: Path | None, batch: int = 64) -> np.ndarray:
    """The units' vectors, encoding only those not in `cache` (an .npz keyed by a hash of the unit; it is
    rewritten with the new ones)."""
    key = {u: hashlib.sha1(u.encode("utf-8")).hexdigest() for u in units}
    store = dict(np.load(cache)) if cache is not None and cache.is_file() else {}
    new = [u for u in dict.fromkeys(units) if key[u] not in store]
    for start in range(0, len(new), batch):
        for unit, vector in zip(new[start:start + batch], encode(new[start:start + batch])):
            store[key[unit]] = np.asarray(vector, dtype=np.float32)
    if new and cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **store)
    return np.array([store[key[u]] for u in units], dtype=np.float32)


def retrain(out: Path, encode: Encode, embedder: str, cache: Path | None = None) -> PlantedModel:
    """Train on `load_training()` and write the model file to `out`."""
    passages = load_training()
    table = unit_table(passages)
    model = train_planted(passages, cached_vectors(table.units, encode, cache), embedder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model.to_json(), encoding="utf-8")
    return model
