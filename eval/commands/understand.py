"""`python -m eval understand [--retrain] [--knowledge DIR [--feedback-db PATH]]`: the message signals.

Without --retrain: precision / recall / F1 per label and language on the held-out split of
eval/sets/messages/, for the word lists alone, the classifier alone and their combination (the copilot's message
analysis), and a confusion table of the combination. --retrain rebuilds core/models/understand.json from the
train split (deterministic). With --knowledge, the shop's examples (rules/examples.csv) and its agents' feedback
join the training; the new model goes to DIR/rules/understand.json only when it measures no worse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.rules import load_rules
from core.signals import DEFAULT_EMBEDDER, DEFAULT_MODEL_PATH, LABELS, MODEL_FILE, SignalModel, load_signal_model
from eval.report import table
from eval.understand_eval import ESCALATE, NEUTRAL, SOURCES, Score, confusion, predict, scores_by_language
from eval.understand_shop import load_examples, load_feedback, retrain_shop
from eval.understand_train import MESSAGES_DIR, load_messages, train_model
from suggest.checks.analysis import word_list_labels
from suggest.understand import signal_encoder

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class UnderstandOptions:
    retrain: bool = False
    model: Path = DEFAULT_MODEL_PATH  # the model reported on, and where --retrain writes the repo's model
    knowledge: Path | None = None  # a shop's knowledge folder: retrain with its examples, write its model
    feedback_db: Path | None = None
    messages: Path = MESSAGES_DIR


@dataclass(frozen=True)
class UnderstandReport:
    model: str
    heldout: int
    scores: dict[str, dict[str, dict[str, Score]]]  # source → label → language → Score
    confusion: dict[str, dict[str, int]]
    shop: dict[str, Any] = field(default_factory=dict)  # the shop retrain's comparison, when there was one

    def to_dict(self) -> dict[str, Any]:
        scores = {src: {label: {lang: vars(s) for lang, s in langs.items()} for label, langs in labels.items()}
                  for src, labels in self.scores.items()}
        out = {"model": self.model, "heldout_messages": self.heldout, "scores": scores, "confusion": self.confusion}
        return out | ({"shop_retrain": self.shop} if self.shop else {})

    def text(self) -> str:
        lines = [f"message signals on the held-out split ({self.heldout} messages), model {self.model}", ""]
        header = ["label", "lang", "n", *(f"{s} P / R" for s in SOURCES), "combined F1"]
        rows = []
        for label in (*LABELS, ESCALATE):
            for lang, combined in self.scores["combined"][label].items():
                rows.append([label, lang, combined.tp + combined.fn,
                             *(f"{self.scores[s][label][lang].precision:.2f} / {self.scores[s][label][lang].recall:.2f}"
                               for s in SOURCES), combined.f1])
        lines += [table(header, rows), "", "confusion (combined): rows true, columns predicted"]
        names = (*LABELS, NEUTRAL)
        lines.append(table(["true \\ predicted", *names], [[t, *(self.confusion[t][p] for p in names)]
                                                         for t in names]))
        if self.shop:
            s = self.shop
            lines += ["", f"shop retrain with {s['examples']} examples: held-out macro F1 "
                      f"{s['heldout_macro_f1']['before']} → {s['heldout_macro_f1']['after']}, shop examples "
                      f"{s['shop_macro_f1']['before']} → {s['shop_macro_f1']['after']} (cross-validated): "
                      + ("kept" if s["kept"] else "not kept (worse)")]
        return "\n".join(lines)


def run_understand(options: UnderstandOptions, encode: Encode | None = None) -> UnderstandReport:
    """Retrain when asked, then report on the held-out split."""
    messages = load_messages(options.messages)
    train = [m for m in messages if m.split == "train"]
    heldout = [m for m in messages if m.split == "heldout"]
    shop_rules = options.knowledge / "rules" if options.knowledge is not None else None
    in_use = shop_rules / MODEL_FILE if shop_rules and (shop_rules / MODEL_FILE).is_file() else options.model
    fresh = options.retrain and options.knowledge is None  # the repo's model is rebuilt, not read (any version)
    model = None if fresh else load_signal_model(in_use)
    encode = encode or signal_encoder(model.embedder if model else DEFAULT_EMBEDDER)
    vectors = encode([m.text for m in messages])
    is_train = np.array([m.split == "train" for m in messages])
    rules = load_rules(shop_rules if shop_rules and shop_rules.is_dir() else None)

    def word_labels(text: str, lang: str) -> set[str]:
        return word_list_labels(text, lang, rules)

    shop: dict[str, Any] = {}
    if options.retrain and shop_rules is not None and model is not None:
        examples = load_examples(options.knowledge) + (load_feedback(options.feedback_db) if options.feedback_db
                                                       else [])
        result = retrain_shop(train, vectors[is_train], heldout, vectors[~is_train], examples, encode, model,
                              word_labels)
        shop = result.to_dict()
        if result.kept:
            model, in_use = result.model, shop_rules / MODEL_FILE
            _write(in_use, model)
    elif options.retrain:
        model = train_model(train, vectors[is_train], word_labels, model.embedder if model else DEFAULT_EMBEDDER)
        in_use = options.model
        _write(in_use, model)
    assert model is not None
    predictions = predict(heldout, model, vectors[~is_train], rules)
    return UnderstandReport(model=str(in_use), heldout=len(heldout), scores=scores_by_language(heldout, predictions),
                            confusion=confusion(heldout, predictions.combined), shop=shop)


def _write(path: Path, model: SignalModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.to_json(), encoding="utf-8")
