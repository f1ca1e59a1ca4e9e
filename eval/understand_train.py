"""Training the message signals (core/signals.py) from labelled messages, deterministically.

Features: the sentence vector and hashed character / word n-grams of the text (`core.signals.signal_features`).
Per label: choose the regularisation C by cross-validation on the train split with folds grouped by batch (near
duplicates written together never sit on both sides), calibrate one threshold per language on the out-of-fold
probabilities (the label's `TARGET_PRECISION` for what it adds to the word lists, then the highest recall; a flag
of an escalation label on a message that needs a person for another reason counts as right; "instruction" flags
no neutral message), then fit on the whole train split. For "upset" a veto is calibrated too: below it the
classifier overrules a word-list hit ("my friend was angry she missed the sale"), set so that no true hit is lost
in cross-validation. The held-out split is never read here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import UserError
from core.language import detect_language
from core.signals import ESCALATION_LABELS, LABELS, LANGS, VETO_LABELS, SignalModel, signal_features
from eval.logreg import calibrate_threshold, calibrate_veto, fit_logistic, predict_logistic, row_basis

REPO = Path(__file__).resolve().parents[1]
MESSAGES_DIR = REPO / "eval" / "sets" / "messages"
# Asked of what the classifier adds to the word lists. A false "upset" only adds an empathy opener; a false
# escalation label blocks the draft: upset trades a little precision for recall.
TARGET_PRECISION = {label: 0.85 if label == "upset" else 0.9 for label in LABELS}
ESCALATION_UNION = True  # an escalation label's flag on a message needing a person for another reason is right
TEXT_DIMS = 4096  # hashed text features after the sentence vector (core.signals.text_features)
TEXT_SCALE = 0.5  # their weight next to the unit sentence vector
C_GRID = (4.0, 16.0, 64.0, 256.0, 1024.0)
WordLabels = Callable[[str, str], set[str]]  # (text, lang) → the labels the word lists find


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    labels: frozenset[str]
    lang: str  # "zh" / "en" as the copilot detects it (thresholds are per detected language)
    split: str = "train"
    group: str = ""  # cross-validation fold key: messages of one group are never split across folds
    set_lang: str = ""  # the set's language (zh-batch… / en-batch…), for reports

    @property
    def neutral(self) -> bool:
        return not self.labels


def parse_labels(value: str | Sequence[str], where: str) -> frozenset[str]:
    """Labels from a list or a `;`-separated string; an unknown one is an error naming the valid ones.

    >>> sorted(parse_labels("upset; wants_human", "x")), parse_labels("", "x")
    (['upset', 'wants_human'], frozenset())
    """
    parts = value.split(";") if isinstance(value, str) else list(value)
    labels = frozenset(p.strip() for p in parts if p.strip() and p.strip() != "neutral")
    unknown = sorted(labels - set(LABELS))
    if unknown:
        raise UserError(f"{where}: unknown label {unknown[0]!r}; valid: {', '.join(LABELS)} (or empty = neutral)")
    return labels


def load_messages(folder: Path = MESSAGES_DIR) -> list[LabelledMessage]:
    """Every `*.jsonl` message set in `folder`, grouped for cross-validation by batch number."""
    out = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(LabelledMessage(
                id=row["id"], text=row["text"], labels=parse_labels(row["labels"], f"{path.name}:{number}"),
                lang=detect_language(row["text"]), split=row["split"], group=f"batch{int(row['batch']):02d}",
                set_lang=path.name[:2]))
    if not out:
        raise UserError(f"no labelled messages in {folder}")
    return out


def training_hash(messages: Sequence[LabelledMessage]) -> str:
    """A short fingerprint of the training texts and labels (recorded in the model file)."""
    h = hashlib.sha256()
    for m in sorted(messages, key=lambda m: (m.text, sorted(m.labels))):
        h.update(json.dumps([m.text, sorted(m.labels)], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def label_matrix(messages: Sequence[LabelledMessage], labels: Sequence[str] = LABELS) -> np.ndarray:
    """(n, labels) 0/1 truth."""
    return np.array([[label in m.labels for label in labels] for m in messages], dtype=np.int8)


def group_folds(groups: Sequence[str]) -> list[np.ndarray]:
    """One boolean test mask per distinct group, in sorted order.

    >>> [f.tolist() for f in group_folds(["b", "a", "b"])]
    [[False, True, False], [True, False, True]]
    """
    groups = np.asarray(groups)
    return [groups == g for g in sorted(set(groups.tolist()))]


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: its test mask and both sides' features, in the training rows' row space when
    there are more features than training rows (the same fit, found faster; computed once for every label and C)."""

    test: np.ndarray
    train_x: np.ndarray
    test_x: np.ndarray


def make_folds(X: np.ndarray, masks: Sequence[np.ndarray]) -> list[Fold]:
    """A `Fold` for each test mask."""
    out = []
    for test in masks:
        train_x, test_x = X[~test], X[test]
        basis = row_basis(train_x)
        if basis is not None:
            train_x, test_x = train_x @ basis.T, test_x @ basis.T
        out.append(Fold(test, train_x, test_x))
    return out


def out_of_fold(folds: Sequence[Fold], y: np.ndarray, cs: Sequence[float]) -> list[np.ndarray]:
    """For each C in `cs`, each item's probability from a model trained without its fold (each fold's fit starts
    from its fit for the previous C)."""
    out = []
    previous: list[tuple[np.ndarray, float] | None] = [None] * len(folds)
    for c in cs:
        scores = np.zeros(len(y))
        for i, fold in enumerate(folds):
            previous[i] = w, b = fit_logistic(fold.train_x, y[~fold.test], c, start=previous[i])
            scores[fold.test] = predict_logistic(fold.test_x, w, b)
        out.append(scores)
    return out


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mean precision at each positive's rank (ties broken by index, so the value is deterministic).

    >>> average_precision(np.array([0.9, 0.8, 0.1]), np.array([1, 0, 1]))
    0.8333333333333333
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(positive)[order].astype(bool)
    if not hits.any():
        return 0.0
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


@dataclass(frozen=True)
class LabelCalibration:
    """Per-language thresholds (and vetoes) of one label, with what the combination with the word lists gives on
    the calibration data."""

    thresholds: dict[str, float]
    vetoes: dict[str, float]
    precision: dict[str, float]
    recall: dict[str, float]


def calibrate_label(label: str, scores: np.ndarray, messages: Sequence[LabelledMessage],
                    word_hits: np.ndarray) -> LabelCalibration:
    """Thresholds per language on out-of-fold `scores` (precision ≥ the label's target for what the classifier
    adds; "instruction" flags no neutral message), and the veto where the label has one."""
    y = np.array([label in m.labels for m in messages])
    langs = np.array([m.lang for m in messages])
    neutral = np.array([m.neutral for m in messages])
    escalates = np.array([bool(m.labels & set(ESCALATION_LABELS)) for m in messages])
    acceptable = escalates if label in ESCALATION_LABELS and ESCALATION_UNION else None
    thresholds, vetoes, precision, recall = {}, {}, {}, {}
    for lang in LANGS:
        here = langs == lang
        forbidden = neutral[here] if label == "instruction" else None
        vetoes[lang] = calibrate_veto(scores[here], y[here], word_hits[here]) if label in VETO_LABELS else 0.0
        counted = word_hits[here] & (scores[here] >= vetoes[lang])
        cal = calibrate_threshold(scores[here], y[here], TARGET_PRECISION[label], counted, forbidden,
                                  None if acceptable is None else acceptable[here])
        thresholds[lang], precision[lang], recall[lang] = cal.threshold, round(cal.precision, 3), round(cal.recall, 3)
    return LabelCalibration(thresholds, vetoes if label in VETO_LABELS else {}, precision, recall)


@dataclass(frozen=True)
class LabelFit:
    """What training chose for one label, with the cross-validated figures behind it."""

    label: str
    c: float
    cv_average_precision: float
    calibration: LabelCalibration
    out_of_fold: np.ndarray  # each training message's probability from the folds' models, at the chosen C


def choose_c(folds: Sequence[Fold], y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The C of `C_GRID` with the best cross-validated average precision: (C, that AP, out-of-fold scores)."""
    best: tuple[float, float, np.ndarray] | None = None
    for c, oof in zip(C_GRID, out_of_fold(folds, y, C_GRID)):  # ascending: on a tie the stronger regularisation stays
        ap = average_precision(oof, y)
        if best is None or ap > best[1]:
            best = (c, ap, oof)
    assert best is not None
    return best


def fit_label(X: np.ndarray, folds: Sequence[Fold], messages: Sequence[LabelledMessage], label: str,
              word_hits: np.ndarray) -> tuple[LabelFit, np.ndarray, float]:
    """C, per-language thresholds, weights and bias for one label."""
    y = np.array([label in m.labels for m in messages], dtype=np.int8)
    if y.sum() == 0 or y.sum() == len(y):
        raise UserError(f"label {label!r} needs both positive and negative training messages")
    c, ap, oof = choose_c(folds, y)
    w, b = fit_logistic(X, y, c)
    return LabelFit(label, c, round(ap, 4), calibrate_label(label, oof, messages, word_hits), oof), w, b


def training_features(messages: Sequence[LabelledMessage], vectors: np.ndarray) -> np.ndarray:
    """The classifier's input for training messages: their vectors and hashed text features (see core.signals)."""
    return signal_features(vectors, [m.text for m in messages], TEXT_DIMS, TEXT_SCALE)


def train_model(messages: Sequence[LabelledMessage], vectors: np.ndarray, word_labels: WordLabels,
                embedder: str) -> SignalModel:
    """The signal model for every label in `LABELS` from `messages` (all used for training) and their vectors."""
    X = training_features(messages, vectors)
    folds = make_folds(X, group_folds([m.group for m in messages]))
    hits = [word_labels(m.text, m.lang) for m in messages]
    fits, weights, biases = [], [], []
    for label in LABELS:
        fit, w, b = fit_label(X, folds, messages, label, np.array([label in h for h in hits]))
        fits.append(fit)
        weights.append(w)
        biases.append(b)
    info = {"target_precision": TARGET_PRECISION, "messages": len(messages), "folds": len(folds),
            "per_label": {f.label: {"c": f.c, "cv_average_precision": f.cv_average_precision,
                                    "cv_precision": f.calibration.precision, "cv_recall": f.calibration.recall}
                          for f in fits}}
    return SignalModel(embedder=embedder, labels=LABELS, weights=np.array(weights), biases=np.array(biases),
                       thresholds={f.label: f.calibration.thresholds for f in fits},
                       train_hash=training_hash(messages), info=info,
                       vetoes={f.label: f.calibration.vetoes for f in fits if f.calibration.vetoes},
                       text_dims=TEXT_DIMS, text_scale=TEXT_SCALE)
