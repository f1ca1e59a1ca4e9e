"""Scoring the message signals: what the word lists, the classifier and their combination (the copilot's own
message analysis) flag, and precision / recall / F1 per label and language, with a confusion table.

>>> prf([{"upset"}, set(), {"upset"}], [{"upset"}, {"upset"}, set()], "upset")
Score(tp=1, fp=1, fn=1, precision=0.5, recall=0.5, f1=0.5)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.rules import Rules, load_rules
from core.signals import ESCALATION_LABELS, LABELS, MessageSignals, SignalModel
from eval.understand_train import LabelledMessage
from suggest.checks.analysis import analyse_message, word_list_labels

ESCALATE = "escalate"  # the union of the escalation labels: does a person take over
NEUTRAL = "neutral"
SOURCES = ("word_lists", "classifier", "combined")
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


def prf(predicted: Sequence[set[str]], truth: Sequence[set[str]], label: str) -> Score:
    """Counts and precision / recall / F1 of one label (precision 1.0 when nothing is flagged)."""
    tp = sum(label in p and label in t for p, t in zip(predicted, truth))
    fp = sum(label in p and label not in t for p, t in zip(predicted, truth))
    fn = sum(label not in p and label in t for p, t in zip(predicted, truth))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(tp, fp, fn, round(precision, 3), round(recall, 3), round(f1, 3))


@dataclass(frozen=True)
class Predictions:
    """What each source flags for each message (label sets, with ESCALATE added where a person takes over)."""

    word_lists: list[set[str]]
    classifier: list[set[str]]
    combined: list[set[str]]

    def of(self, source: str) -> list[set[str]]:
        return getattr(self, source)


def truth_of(message: LabelledMessage) -> set[str]:
    """The true labels, with ESCALATE when any escalation label is among them."""
    labels = set(message.labels)
    return labels | ({ESCALATE} if labels & set(ESCALATION_LABELS) else set())


def predict(messages: Sequence[LabelledMessage], model: SignalModel, vectors: np.ndarray,
            rules: Rules | None = None) -> Predictions:
    """Word lists alone, classifier alone, and the copilot's combination (analyse_message with the signals)."""
    return predict_from_probabilities(messages, model, model.probabilities(vectors, [m.text for m in messages]),
                                      rules)


def predict_from_probabilities(messages: Sequence[LabelledMessage], model: SignalModel, probs: np.ndarray,
                               rules: Rules | None = None) -> Predictions:
    """`predict` from the classifier's probabilities (one row per message), judged by `model`'s thresholds."""
    rules = rules or load_rules()
    lists, learned, combined = [], [], []
    for m, row in zip(messages, probs):
        signals = MessageSignals(model.signals(row, m.lang))
        flagged = signals.message.flagged
        words = word_list_labels(m.text, m.lang, rules)
        analysis = analyse_message(m.text, lang=m.lang, rules=rules, signals=signals)
        plain = analyse_message(m.text, lang=m.lang, rules=rules)
        lists.append(words | ({ESCALATE} if plain.escalate else set()))
        learned.append(set(flagged) | ({ESCALATE} if set(flagged) & set(ESCALATION_LABELS) else set()))
        combined.append(set(analysis.labels) | ({ESCALATE} if analysis.escalate else set()))
    return Predictions(lists, learned, combined)


def scores_by_language(messages: Sequence[LabelledMessage], predictions: Predictions,
                       langs: Sequence[str] = ("zh", "en")) -> dict[str, dict[str, dict[str, Score]]]:
    """source → label (and ESCALATE) → language (and "all") → Score; languages are the sets' (zh-batch…)."""
    truth = [truth_of(m) for m in messages]
    out: dict[str, dict[str, dict[str, Score]]] = {}
    for source in SOURCES:
        pred = predictions.of(source)
        out[source] = {}
        for label in (*LABELS, ESCALATE):
            per_lang = {}
            for lang in (*langs, "all"):
                idx = [i for i, m in enumerate(messages) if lang == "all" or m.set_lang == lang]
                per_lang[lang] = prf([pred[i] for i in idx], [truth[i] for i in idx], label)
            out[source][label] = per_lang
    return out


def confusion(messages: Sequence[LabelledMessage], predicted: Sequence[set[str]]) -> dict[str, dict[str, int]]:
    """true label → predicted label → messages (a message counts once per pair; no label = NEUTRAL).

    >>> m = [LabelledMessage("1", "x", frozenset({"upset"}), "en"), LabelledMessage("2", "y", frozenset(), "en")]
    >>> confusion(m, [{"upset", "abuse"}, set()])["upset"]
    {'upset': 1, 'wants_human': 0, 'threat': 0, 'fraud': 0, 'abuse': 1, 'instruction': 0, 'neutral': 0}
    """
    names = (*LABELS, NEUTRAL)
    table = {t: {p: 0 for p in names} for t in names}
    for m, pred in zip(messages, predicted):
        true_labels = [label for label in LABELS if label in m.labels] or [NEUTRAL]
        pred_labels = [label for label in LABELS if label in pred] or [NEUTRAL]
        for t in true_labels:
            for p in pred_labels:
                table[t][p] += 1
    return table


def macro_f1(messages: Sequence[LabelledMessage], predicted: Sequence[set[str]]) -> float:
    """Mean F1 over the labels and ESCALATE: one number to compare two models on the same messages."""
    truth = [truth_of(m) for m in messages]
    return round(float(np.mean([prf(predicted, truth, label).f1 for label in (*LABELS, ESCALATE)])), 4)
