"""Training the message signals (core/signals.py) from labelled messages, deterministically.

Per label: choose the regularisation C by cross-validation on the train split with folds grouped by batch (near
duplicates written together never sit on both sides), calibrate one threshold per language on the out-of-fold
probabilities (precision ≥ 0.9 for what it adds to the word lists, the highest recall; "instruction" flags no
neutral message), then fit on the whole train split. For "upset" a veto is calibrated too: below it the classifier
overrules a word-list hit ("my friend was angry she missed the sale"), set so that no true hit is lost in
cross-validation. The held-out split is never read here.
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
from core.signals import LABELS, LANGS, VETO_LABELS, SignalModel
from eval.logreg import calibrate_threshold, calibrate_veto, fit_logistic, predict_logistic

REPO = Path(__file__).resolve().parents[1]
MESSAGES_DIR = REPO / "eval" / "sets" / "messages"
TARGET_PRECISION = 0.9
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


def out_of_fold(X: np.ndarray, y: np.ndarray, folds: Sequence[np.ndarray], c: float) -> np.ndarray:
    """Each item's probability from a model trained without its fold."""
    scores = np.zeros(len(y))
    for test in folds:
        w, b = fit_logistic(X[~test], y[~test], c)
        scores[test] = predict_logistic(X[test], w, b)
    return scores


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
class LabelFit:
    """What training chose for one label, with the cross-validated figures behind it."""

    label: str
    c: float
    cv_average_precision: float
    thresholds: dict[str, float]
    vetoes: dict[str, float]
    cv_precision: dict[str, float]
    cv_recall: dict[str, float]


def fit_label(X: np.ndarray, messages: Sequence[LabelledMessage], label: str, word_hits: np.ndarray,
              folds: Sequence[np.ndarray]) -> tuple[LabelFit, np.ndarray, float]:
    """C, per-language thresholds, weights and bias for one label."""
    y = np.array([label in m.labels for m in messages], dtype=np.int8)
    if y.sum() == 0 or y.sum() == len(y):
        raise UserError(f"label {label!r} needs both positive and negative training messages")
    best: tuple[float, float, np.ndarray] | None = None
    for c in C_GRID:  # ascending: on a tie the stronger regularisation stays
        oof = out_of_fold(X, y, folds, c)
        ap = average_precision(oof, y)
        if best is None or ap > best[0]:
            best = (ap, c, oof)
    assert best is not None
    ap, c, oof = best
    langs = np.array([m.lang for m in messages])
    neutral = np.array([m.neutral for m in messages])
    thresholds, vetoes, precision, recall = {}, {}, {}, {}
    for lang in LANGS:
        here = langs == lang
        forbidden = neutral[here] if label == "instruction" else None
        vetoes[lang] = calibrate_veto(oof[here], y[here], word_hits[here]) if label in VETO_LABELS else 0.0
        counted = word_hits[here] & (oof[here] >= vetoes[lang])
        cal = calibrate_threshold(oof[here], y[here], TARGET_PRECISION, counted, forbidden)
        thresholds[lang], precision[lang], recall[lang] = cal.threshold, round(cal.precision, 3), round(cal.recall, 3)
    w, b = fit_logistic(X, y, c)
    return LabelFit(label, c, round(ap, 4), thresholds, vetoes, precision, recall), w, b


def train_model(messages: Sequence[LabelledMessage], X: np.ndarray, word_labels: WordLabels,
                embedder: str) -> SignalModel:
    """The signal model for every label in `LABELS` from `messages` (all used for training) and their vectors."""
    folds = group_folds([m.group for m in messages])
    hits = [word_labels(m.text, m.lang) for m in messages]
    fits, weights, biases = [], [], []
    for label in LABELS:
        word_hits = np.array([label in h for h in hits])
        fit, w, b = fit_label(X, messages, label, word_hits, folds)
        fits.append(fit)
        weights.append(w)
        biases.append(b)
    info = {"target_precision": TARGET_PRECISION, "messages": len(messages), "folds": len(folds),
            "per_label": {f.label: {"c": f.c, "cv_average_precision": f.cv_average_precision,
                                    "cv_precision": f.cv_precision, "cv_recall": f.cv_recall} for f in fits}}
    return SignalModel(embedder=embedder, labels=LABELS, weights=np.array(weights), biases=np.array(biases),
                       thresholds={f.label: f.thresholds for f in fits}, train_hash=training_hash(messages),
                       info=info, vetoes={f.label: f.vetoes for f in fits if f.label in VETO_LABELS})
