"""Does the knowledge base answer this message? A small logistic model over what retrieval and evidence saw.

The evidence score alone separates badly: multilingual-e5 rates almost any pair of texts 0.7–0.95, and vague or
context-dependent messages ("在吗", "这个呢", "how long?") retrieve something plausible too. Six features, each
cheap and already computed, do better (README, "Evidence-first drafting"):

    evidence       the best evidence sentence's score (suggest.evidence)
    dense          the top hit's cosine with the message
    fused          the top hit's fused retrieval score
    content_words  how many content words the message has (capped at 6, scaled to 0..1): vague messages have few
    overlap        the share of the message's content words found in the top passage
    length         the message length in characters (capped at 30, scaled to 0..1)

The weights live in `suggest/answerable.json`, fitted on the tune splits by `python -m eval calibrate --fit`
(eval/gate_fit.py), with the threshold chosen there for precision ≥ 0.9. Cosines depend on the embedder, so the
gate applies only to indexes built with the embedder it was fitted on; any other index (MiniLM, the test fake)
falls back to the evidence score alone against `fallback_threshold`.

>>> m = GateModel(FEATURES, (0.0,) * 6, (1.0,) * 6, (0.0, 0.0, 0.0, 4.0, 0.0, 0.0), 0.0, 0.5, "e5", 0.45)
>>> round(m.probability([0, 0, 0, 1, 0, 0]), 3), round(m.probability([0, 0, 0, 0, 0, 0]), 3)
(0.982, 0.5)
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from core.errors import UserError
from core.types import Hit
from index.keyword import tokenize

FEATURES = ("evidence", "dense", "fused", "content_words", "overlap", "length")
GATE_FILE = Path(__file__).with_name("answerable.json")
FORMAT_VERSION = 1
MAX_CONTENT_WORDS = 6  # more content words than this says nothing more about being specific
MAX_CHARS = 30


@dataclass(frozen=True)
class GateModel:
    """Standardised logistic regression: p = σ(w · (x − mean) / scale + b); answerable when p ≥ threshold."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    embedder: str  # the embedding model id the gate was fitted on (an index's manifest `embedding_model`)
    fallback_threshold: float  # on the evidence score alone, for indexes built with another embedder

    def applies_to(self, embedding_model: str) -> bool:
        return embedding_model == self.embedder

    def answerable(self, embedding_model: str, features: Sequence[float]) -> tuple[bool, float]:
        """(answerable, confidence): the gate's probability, or the evidence score under another embedder."""
        if self.applies_to(embedding_model):
            p = self.probability(features)
            return p >= self.threshold, p
        return features[0] >= self.fallback_threshold, features[0]

    def probability(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * (v - m) / s for w, v, m, s in zip(self.weights, x, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_dict(self) -> dict:
        return {"format_version": FORMAT_VERSION, **asdict(self)}


def gate_features(message: str, hits: Sequence[Hit], evidence_score: float) -> list[float]:
    """The six features of FEATURES for a message, its hits (best first) and its best evidence score.

    >>> gate_features("在吗", [], 0.0)
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.066667]
    """
    words = set(tokenize(message, query=True))
    top = hits[0] if hits else None
    overlap = 0.0
    if top is not None and words:
        p = top.passage
        passage_words = set(tokenize(f"{p.title} {p.question} {p.text}"))
        overlap = sum(1 for w in words if w in passage_words) / len(words)
    return [round(float(v), 6) for v in (
        evidence_score, top.dense_score if top else 0.0, top.score if top else 0.0,
        min(len(words), MAX_CONTENT_WORDS) / MAX_CONTENT_WORDS, overlap, min(len(message), MAX_CHARS) / MAX_CHARS)]


def read_gate(data: dict, where: str) -> GateModel:
    """A GateModel from its JSON; a wrong version or shape is a one-line error naming the file."""
    if data.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{where}: answerable gate format {data.get('format_version')!r}, expected {FORMAT_VERSION}; "
                        "refit it with: python -m eval calibrate --index DIR --fit")
    try:
        model = GateModel(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]),
                          tuple(data["weights"]), float(data["bias"]), float(data["threshold"]),
                          str(data["embedder"]), float(data["fallback_threshold"]))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{where}: the answerable gate is incomplete ({e}); refit it") from None
    if model.features != FEATURES or not len(model.mean) == len(model.scale) == len(model.weights) == len(FEATURES):
        raise UserError(f"{where}: the answerable gate has features {model.features}, expected {FEATURES}; refit it")
    return model


@lru_cache(maxsize=4)
def load_gate(path: str = str(GATE_FILE)) -> GateModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read the answerable gate {path} ({e}); refit it with python -m eval calibrate --fit")
    return read_gate(data, path)
