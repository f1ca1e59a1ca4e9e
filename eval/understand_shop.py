"""A shop teaches the message signals: its own labelled examples and its agents' feedback join the training data,
and the retrained model is kept only when it measures no worse than the one in use.

Sources (both optional):
- `rules/examples.csv` in the knowledge folder: columns `text,labels`, labels `;`-separated (empty = neutral).
- the app's feedback record (SQLite, read-only): a rejected reply whose reason says the tone was wrong ("Wrong
  tone", "语气不合适") makes its message an `upset` example; "Needs a human", "should have escalated",
  "需要人工处理" make it a `wants_human` example.

Measured on: the held-out split of the repo's set, and the shop's examples by cross-validation (each fold scored
by a model trained without it; the model in use is scored on them directly).
"""
from __future__ import annotations

import csv
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import UserError
from core.language import detect_language
from core.signals import SignalModel
from eval.understand_eval import macro_f1, predict
from eval.understand_train import LabelledMessage, WordLabels, parse_labels, train_model

EXAMPLES_FILE = "rules/examples.csv"
SHOP_FOLDS = 5
FEEDBACK_LABELS = (  # a rejection reason (case-insensitive) → the label its message should have had
    (re.compile(r"wrong tone|语气", re.IGNORECASE), "upset"),
    (re.compile(r"needs? a human|should have escalated|escalat|需要人工|转人工", re.IGNORECASE), "wants_human"),
)
Encode = Callable[[list[str]], np.ndarray]


def _shop_message(text: str, labels: frozenset[str], key: str, number: int) -> LabelledMessage:
    return LabelledMessage(id=f"{key}-{number}", text=text, labels=labels, lang=detect_language(text), split=key,
                           group=f"{key}{number % SHOP_FOLDS}", set_lang=detect_language(text))


def load_examples(knowledge_dir: str | Path) -> list[LabelledMessage]:
    """The shop's labelled messages from `rules/examples.csv` ([] when the file is absent)."""
    path = Path(knowledge_dir) / EXAMPLES_FILE
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"text", "labels"} <= set(reader.fieldnames):
            raise UserError(f"{path}: needs the columns text,labels (labels ';'-separated, empty = neutral)")
        rows = [(n, row) for n, row in enumerate(reader, 2) if (row.get("text") or "").strip()]
    return [_shop_message(row["text"].strip(), parse_labels(row.get("labels") or "", f"{path}:{n}"), "shop", n)
            for n, row in rows]


def feedback_label(reason: str) -> str:
    """The label a rejection reason teaches ("" when it teaches none).

    >>> feedback_label("Wrong tone — too cold"), feedback_label("需要人工处理"), feedback_label("Wrong facts")
    ('upset', 'wants_human', '')
    """
    return next((label for pattern, label in FEEDBACK_LABELS if pattern.search(reason or "")), "")


def load_feedback(db_path: str | Path) -> list[LabelledMessage]:
    """Examples from rejected replies in the app's feedback record, opened read-only."""
    path = Path(db_path)
    if not path.is_file():
        raise UserError(f"feedback record {path} does not exist; pass the app's --feedback-db file")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT id, message, reason FROM feedback WHERE status = 'rejected' "
                              "ORDER BY id").fetchall()
    except sqlite3.DatabaseError as e:
        raise UserError(f"cannot read the feedback record {path}: {e}") from None
    return [_shop_message(message, frozenset({label}), "feedback", rid)
            for rid, message, reason in rows if message.strip() and (label := feedback_label(reason))]


@dataclass(frozen=True)
class ShopRetrain:
    """The comparison behind keeping (or not) a shop's retrained model."""

    examples: int
    heldout_before: float
    heldout_after: float
    shop_before: float | None  # None when the shop gave no examples
    shop_after: float | None
    kept: bool
    model: SignalModel

    def to_dict(self) -> dict[str, object]:
        return {"examples": self.examples, "heldout_macro_f1": {"before": self.heldout_before,
                                                                "after": self.heldout_after},
                "shop_macro_f1": {"before": self.shop_before, "after": self.shop_after}, "kept": self.kept}


def cross_validated_predictions(base: Sequence[LabelledMessage], base_vectors: np.ndarray,
                                shop: Sequence[LabelledMessage], shop_vectors: np.ndarray,
                                word_labels: WordLabels, embedder: str) -> list[set[str]]:
    """The combined prediction for each shop example from a model trained on the base set and the other folds."""
    out: list[set[str]] = [set() for _ in shop]
    groups = sorted({m.group for m in shop})
    for group in groups:
        test = np.array([m.group == group for m in shop])
        train = [*base, *(m for m, t in zip(shop, test) if not t)]
        model = train_model(train, np.vstack([base_vectors, shop_vectors[~test]]), word_labels, embedder)
        fold = [m for m, t in zip(shop, test) if t]
        for i, p in zip(np.flatnonzero(test), predict(fold, model, shop_vectors[test]).combined):
            out[i] = p
    return out


def retrain_shop(base: Sequence[LabelledMessage], base_vectors: np.ndarray, heldout: Sequence[LabelledMessage],
                 heldout_vectors: np.ndarray, shop: Sequence[LabelledMessage], encode: Encode,
                 current: SignalModel, word_labels: WordLabels) -> ShopRetrain:
    """Train on base + shop examples; keep the result when neither the held-out nor the shop score drops."""
    shop_vectors = encode([m.text for m in shop]) if shop else np.zeros((0, base_vectors.shape[1]))
    model = train_model([*base, *shop], np.vstack([base_vectors, shop_vectors]), word_labels, current.embedder)
    heldout_before = macro_f1(heldout, predict(heldout, current, heldout_vectors).combined)
    heldout_after = macro_f1(heldout, predict(heldout, model, heldout_vectors).combined)
    shop_before = shop_after = None
    if shop:
        shop_before = macro_f1(shop, predict(shop, current, shop_vectors).combined)
        shop_after = macro_f1(shop, cross_validated_predictions(base, base_vectors, shop, shop_vectors,
                                                                word_labels, current.embedder))
    kept = heldout_after >= heldout_before and (shop_after is None or shop_after >= (shop_before or 0.0))
    return ShopRetrain(len(shop), heldout_before, heldout_after, shop_before, shop_after, kept, model)
