"""Fit the answerable gate (suggest/answerable.py) on the tune splits: a standardised, L2-regularised logistic
regression on the gate features, then the threshold with the highest recall at answerable precision ≥ 0.9.
Deterministic (full-batch gradient descent from zeros), so a refit on the same sets writes the same file.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from suggest.answerable import FEATURES, GateModel

STEPS = 4000
LEARNING_RATE = 0.5
L2 = 1.0  # per-sample penalty weight 1/(C·n) with C = 1
THRESHOLDS = tuple(round(0.3 + 0.01 * i, 2) for i in range(66))  # 0.30 … 0.95
TARGET_PRECISION = 0.9


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) of a standardised logistic regression.

    >>> mean, scale, w, b = fit_logistic(np.array([[0.], [0.1], [0.9], [1.]]), np.array([0, 0, 1, 1]))
    >>> bool(w[0] > 0)
    True
    """
    mean, scale = x.mean(0), np.maximum(x.std(0), 1e-3)  # a constant feature must not divide by ~0
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= LEARNING_RATE * (z.T @ (p - y) / len(y) + L2 * w / len(y))
        b -= LEARNING_RATE * float((p - y).mean())
    return mean, scale, w, b


def choose_threshold(probs: Sequence[float], labels: Sequence[bool], target: float = TARGET_PRECISION) -> float:
    """The threshold with the highest recall of answerable messages among those at precision ≥ target.

    >>> choose_threshold([0.9, 0.8, 0.4, 0.35], [True, True, False, True], 0.9)
    0.41
    """
    best, best_recall = max(THRESHOLDS), -1.0
    n_pos = sum(labels) or 1
    for t in THRESHOLDS:
        offered = [lab for p, lab in zip(probs, labels) if p >= t]
        if offered and sum(offered) / len(offered) >= target and sum(offered) / n_pos > best_recall:
            best, best_recall = t, sum(offered) / n_pos
    return best


def fit_gate(records: Sequence[dict], embedder: str, fallback_threshold: float) -> GateModel:
    """A GateModel for indexes of `embedder` from tune records with "features" (in FEATURES order) and
    "answerable"; `fallback_threshold` (the evidence score alone) is kept for other embedders."""
    x = np.array([r["features"] for r in records], dtype=float)
    y = np.array([1.0 if r["answerable"] else 0.0 for r in records])
    mean, scale, w, b = fit_logistic(x, y)
    model = GateModel(FEATURES, tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in scale),
                      tuple(round(float(v), 6) for v in w), round(b, 6), 0.5, embedder, fallback_threshold)
    threshold = choose_threshold([model.probability(r["features"]) for r in records], [bool(v) for v in y])
    return replace(model, threshold=threshold)
