"""A synthetic N-passage index for the speed benchmark (`python -m eval speed --passages N`), written with the real
index writer: random unit vectors on the dense side and random multilingual token text on the keyword side."""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.language import detect_language
from core.types import Passage
from index.keyword import KeywordIndex, tokenize
from index.manifest import Manifest
from index.store import write_index

VOCABULARY = 50_000


def vocabulary(demo_passages: Sequence[Passage], size: int, rng: random.Random) -> list[str]:
    """Keyword vocabulary for synthetic text: the demo index's own tokens, then common words of jieba's
    dictionary (Chinese) and frequent English shop words, so the real queries meet realistic postings."""
    import jieba

    words: dict[str, None] = {}
    for p in demo_passages:
        for t in tokenize(f"{p.title} {p.question} {p.text}"):
            words.setdefault(t, None)
    dict_path = Path(jieba.__file__).with_name("dict.txt")
    common = []
    with open(dict_path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and 2 <= len(parts[0]) <= 4 and int(parts[1]) >= 30:
                common.append(parts[0])
    rng.shuffle(common)
    for w in common:
        if len(words) >= size:
            break
        words.setdefault(w, None)
    return list(words)


def synthetic_index(folder: Path, n: int, dim: int, model_id: str, demo_passages: Sequence[Passage],
                    dense_kind: str, seed: int = 0) -> dict[str, Any]:
    """Write an N-passage index with the real writer: random unit vectors (dense) and random multilingual token
    text (keyword, Zipf-distributed over a real vocabulary). Returns what was generated."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    vocab = vocabulary(demo_passages, VOCABULARY, random.Random(seed))
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = 1.0 / (ranks + 10.0)
    p /= p.sum()
    lengths = rng.integers(20, 80, size=n)
    draws = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    token_lists, passages = [], []
    pos = 0
    for i, length in enumerate(lengths):
        toks = [vocab[j] for j in draws[pos:pos + length]]
        pos += length
        text = "".join(t if not t.isascii() else f" {t} " for t in toks).strip()
        token_lists.append(toks)
        passages.append(Passage(id=f"syn-{i:06d}", source=f"synthetic/{i // 1000:03d}.md", title=f"synthetic {i}",
                                text=text, lang=detect_language(text)))
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keyword = KeywordIndex.build(token_lists)
    manifest = Manifest(embedding_model=model_id, dimension=dim, dense_index=dense_kind, synthetic=True)
    write_index(folder, manifest, passages, vectors, keyword)
    return {"passages": n, "vocabulary": len(vocab), "tokens": int(lengths.sum()),
            "generate_and_write_s": round(time.perf_counter() - t0, 1)}
