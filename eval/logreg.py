"""Training pieces for the message signals, in plain numpy: logistic regression and threshold calibration.

Both are deterministic (no random starts, no shuffling) so a retrain on the same data gives the same file.

>>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]); y = np.array([1, 1, 0, 0])
>>> w, b = fit_logistic(X, y, c=10.0)
>>> (predict_logistic(X, w, b) > 0.5).astype(int).tolist()
[1, 1, 0, 0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.signals import NEVER, sigmoid

MAX_NEWTON_STEPS = 50
NEWTON_TOLERANCE = 1e-9


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-sample weights that give both classes the same total weight ("balanced"); all 1 for one class.

    >>> class_weights(np.array([1, 0, 0, 0])).tolist()
    [2.0, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
    """
    y = np.asarray(y)
    n, pos = len(y), int(y.sum())
    if pos in (0, n):
        return np.ones(n)
    return np.where(y == 1, n / (2.0 * pos), n / (2.0 * (n - pos)))


def fit_logistic(X: np.ndarray, y: np.ndarray, c: float = 1.0, balanced: bool = True,
                 start: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (penalty |w|²/2c, bias free), by Newton's method.

    The loss is convex and Newton steps from zero (or from `start`, e.g. the fit for a nearby C: the same optimum
    in fewer steps) converge in a few iterations for a few hundred samples. With
    more features than samples the fit runs on the samples' coordinates in the row space of X (thin SVD): the
    L2-optimal weights lie in that space, so the result is the same and each step solves an n×n system, not d×d.
    """
    X = np.asarray(X, dtype=np.float64)
    basis = row_basis(X)
    if basis is not None:
        reduced = None if start is None else (basis @ start[0], start[1])
        theta, b = fit_logistic(X @ basis.T, y, c, balanced, reduced)
        return basis.T @ theta, b
    n, d = X.shape
    y = np.asarray(y, dtype=np.float64)
    s = class_weights(y) if balanced else np.ones(n)
    Xb = np.hstack([X, np.ones((n, 1))])
    reg = np.full(d + 1, 1.0 / c)
    reg[-1] = 1e-8  # the bias is not shrunk (a tiny ridge keeps the Hessian invertible for one-class data)
    theta = np.zeros(d + 1) if start is None else np.append(start[0], start[1]).astype(np.float64)
    for _ in range(MAX_NEWTON_STEPS):
        p = sigmoid(Xb @ theta)
        grad = Xb.T @ (s * (p - y)) + reg * theta
        hess = (Xb * (s * p * (1 - p))[:, None]).T @ Xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < NEWTON_TOLERANCE:
            break
    return theta[:-1], float(theta[-1])


def row_basis(X: np.ndarray) -> np.ndarray | None:
    """An orthonormal basis (rows) of the row space of X when X has more columns than rows, else None.

    >>> B = row_basis(np.array([[1.0, 0.0, 0.0]])); B.shape, float(abs(B[0, 0]))
    ((1, 3), 1.0)
    """
    n, d = X.shape
    if d <= n:
        return None
    return np.linalg.svd(X, full_matrices=False)[2]


def predict_logistic(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Probabilities of the positive class."""
    return sigmoid(np.asarray(X, dtype=np.float64) @ w + b)


@dataclass(frozen=True)
class Calibration:
    """A chosen threshold and what the combination (already flagged, or score ≥ threshold) gives on the
    calibration data."""

    threshold: float
    precision: float
    recall: float
    flagged: int


def calibrate_threshold(scores: np.ndarray, positive: np.ndarray, target_precision: float = 0.9,
                        already: np.ndarray | None = None, forbidden: np.ndarray | None = None,
                        acceptable: np.ndarray | None = None) -> Calibration:
    """The threshold with the highest recall whose own flags have precision ≥ `target_precision`.

    Items in `already` are flagged anyway (a word-list hit): recall counts them whatever the threshold, and the
    precision asked of the threshold is that of the items it adds, so the combination is never less precise
    than the lower of the word lists and the target. No item in `forbidden` (e.g. a neutral message, for
    "instruction") may reach the threshold unless it is `already` flagged. A flag on an item in `acceptable` is
    not a false one (e.g. "threat" on a chargeback: a person takes over either way), though recall counts
    `positive` items only. The threshold sits halfway between
    the lowest positive score it keeps and the negative score below it, so it is not pinned to one example.
    Nothing qualifies → `NEVER` (the classifier adds nothing).

    >>> s = np.array([0.9, 0.8, 0.7, 0.6, 0.2]); pos = np.array([1, 1, 0, 1, 0])
    >>> calibrate_threshold(s, pos, 0.9).threshold, calibrate_threshold(s, pos, 0.7).threshold
    (0.75, 0.4)
    >>> calibrate_threshold(s, pos, 0.9, acceptable=np.array([0, 0, 1, 0, 0])).threshold
    0.4
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive).astype(bool)
    right = positive if acceptable is None else positive | np.asarray(acceptable).astype(bool)
    already = np.zeros(len(scores), bool) if already is None else np.asarray(already).astype(bool)
    forbidden = np.zeros(len(scores), bool) if forbidden is None else np.asarray(forbidden).astype(bool)
    free = ~already
    best = _measure(NEVER, scores, positive, already, right)
    ceiling = scores[forbidden & free].max(initial=-np.inf)  # thresholds must stay above this
    candidates = scores[positive & free]
    for boundary in [*np.unique(scores[~positive & free])[::-1], -np.inf]:
        if boundary < ceiling:
            break
        above = candidates[candidates > boundary]
        if not above.size:
            continue
        threshold = float((above.min() + boundary) / 2) if np.isfinite(boundary) else float(above.min())
        added = free & (scores >= threshold)
        if (added & right).sum() < target_precision * added.sum():
            continue
        got = _measure(threshold, scores, positive, already, right)
        if got.recall > best.recall:
            best = got
    return best


def calibrate_veto(scores: np.ndarray, positive: np.ndarray, hits: np.ndarray) -> float:
    """The probability below which a word-list hit is overruled: halfway between the lowest-scored true hit and
    the highest-scored false hit under it, so no true hit is lost on the calibration data (0.0: no veto).

    >>> calibrate_veto(np.array([0.05, 0.3, 0.9, 0.5]), np.array([0, 1, 1, 0]), np.array([1, 1, 1, 0]))
    0.175
    >>> calibrate_veto(np.array([0.05, 0.3]), np.array([1, 0]), np.array([1, 1]))
    0.0
    """
    scores, hits = np.asarray(scores, dtype=np.float64), np.asarray(hits).astype(bool)
    positive = np.asarray(positive).astype(bool)
    lowest_true = scores[hits & positive].min(initial=np.inf)
    false_below = scores[hits & ~positive & (scores < lowest_true)]
    if not false_below.size or not np.isfinite(lowest_true):  # nothing to overrule, or no true hit to keep
        return 0.0
    return round(float((lowest_true + false_below.max()) / 2), 6)


def _measure(threshold: float, scores: np.ndarray, positive: np.ndarray, already: np.ndarray,
             right: np.ndarray) -> Calibration:
    """Precision (flags on `right` items) and recall (of `positive` items) of the combination (already flagged,
    or score ≥ threshold)."""
    flagged = already | (scores >= threshold)
    n_flagged, n_pos = int(flagged.sum()), int(positive.sum())
    precision = int((flagged & right).sum()) / n_flagged if n_flagged else 1.0
    recall = int((flagged & positive).sum()) / n_pos if n_pos else 0.0
    return Calibration(round(threshold, 6), precision, recall, n_flagged)
