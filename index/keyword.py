"""Keyword side: a tokenizer for Chinese (jieba) and English, and a BM25 index stored as readable files.

On disk (inside the index folder): `keyword/vocab.json` (terms, document frequencies, parameters) and
`keyword/postings.npz` (per-term document ids and term frequencies, CSR-style), `keyword/doc_len.npy`.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.language import is_cjk
from index.synonyms import STOP_MARK, Synonyms, expand_query

K1 = 1.5  # BM25 term-frequency saturation
B = 0.75  # BM25 length normalisation

# Queries are cut in jieba's precise mode: search-mode sub-words did not help (/tmp/i9/RESULTS.md, keyword table).
QUERY_SEARCH_MODE = False
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9][A-Za-z0-9'\-\.]*[A-Za-z0-9]|[A-Za-z0-9]")
EN_STOP = frozenset("""a an the and or but if of to in on at for with by from is are was were be been being am do does
did have has had i me my we our you your he she it its they them their this that these those what which who whom
how can could would should will shall may might must not no so than too very just about as into up down out
there here when where why please hi hello thanks thank s t""".split())
ZH_STOP = frozenset("""的 了 吗 呢 吧 啊 呀 哦 嗯 么 是 在 有 和 与 及 或 我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 就 都 也 还
请问 请 一下 能 会 要 想 可以 什么 怎么 如何 哪 多少 吗 亲 谢谢 好 的话 一个 个""".split())


# Units written as Chinese words in questions and as symbols in specs ("多少瓦" vs "1800W") meet on one token.
UNIT_SYNONYMS = {"瓦": "w", "瓦特": "w", "千瓦": "kw", "升": "l", "毫升": "ml", "公斤": "kg", "千克": "kg",
                 "克": "g", "厘米": "cm", "公分": "cm", "毫米": "mm", "伏": "v", "伏特": "v",
                 # English unit words (after the plural stem) meet the symbols of specs the same way
                 "watt": "w", "kilowatt": "kw", "litre": "l", "liter": "l", "millilitre": "ml", "milliliter": "ml",
                 "kilogram": "kg", "kilo": "kg", "gram": "g", "centimetre": "cm", "centimeter": "cm",
                 "millimetre": "mm", "millimeter": "mm", "volt": "v"}
_NUM_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _stem(word: str) -> str:
    """A light English stemmer for plurals: "returns" → "return", "policies" → "policy"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str, search: bool) -> list[str]:
    """Every token of `text`, stop words marked with STOP_MARK (kept so synonym phrases like 多少钱 = 多少 + 钱
    still match); Chinese runs cut by jieba (`search`: long words also yield their parts), units normalised."""
    out: list[str] = []
    for run in _RUNS.findall(text):
        if is_cjk(run[0]):
            words = _jieba().lcut_for_search(run) if search else _jieba().lcut(run)
            out.extend(STOP_MARK + w if w in ZH_STOP else UNIT_SYNONYMS.get(w, w) for w in words if w.strip())
            continue
        w = run.lower().strip(".'-")
        m = _NUM_UNIT.match(w)
        if m:
            out.extend(m.groups())
        elif w:
            out.append(STOP_MARK + w if w in EN_STOP else UNIT_SYNONYMS.get(_stem(w), _stem(w)))
    return out


def _content(tokens: list[str]) -> list[str]:
    return [t for t in tokens if not t.startswith(STOP_MARK)]


def tokenize(text: str, query: bool = False) -> list[str]:
    """Keyword tokens: jieba words for Chinese runs, lower-cased light-stemmed English words, no stop words.

    Passages are cut in jieba's search mode (a long word also yields its parts: 电热水壶 → 电热, 热水, 水壶,
    电热水壶) so any part can match; queries (`query=True`) are cut in precise mode, so one long word in a
    question counts once instead of drowning the other words.

    >>> tokenize("Do you ship the Kettles to Tibet?")
    ['ship', 'kettle', 'tibet']
    >>> tokenize("满99元包邮吗") == ['满', '99', '元', '包邮']
    True
    >>> tokenize("功率多少瓦") == tokenize("功率") + ["w"] == ["功率", "w"], tokenize("1800W")
    (True, ['1800', 'w'])
    """
    return _content(_words(text, search=not query))


@lru_cache(maxsize=8)
def _member_tokens(synonyms: Synonyms, search: bool) -> tuple[tuple[tuple[str, ...], ...], ...]:
    return tuple(tuple(m for m in (tuple(_words(member, search)) for member in group) if m)
                 for group in synonyms.groups)


def tokenize_query(text: str, synonyms: Synonyms | None = None, search: bool = QUERY_SEARCH_MODE) -> list[str]:
    """Query tokens for the keyword side, with the words of every synonym group the query mentions added.

    >>> syn = Synonyms.parse("多少钱 = 售价 = 价格\\nhow much = price")
    >>> tokenize_query("龙井多少钱一罐", syn) == ["龙井", "钱", "一罐", "售价", "价格"]
    True
    >>> tokenize_query("How much is it?", syn), tokenize_query("How is it?", syn)
    (['much', 'price'], [])
    """
    words = _words(text, search)
    if synonyms and synonyms.groups:
        words = expand_query(words, _member_tokens(synonyms, search))
    return _content(words)


def bm25_idf(n_docs: int, df: np.ndarray) -> np.ndarray:
    """BM25 idf with the +1 inside the log so it never goes negative.

    >>> [round(float(x), 3) for x in bm25_idf(10, np.array([1, 10]))]
    [1.992, 0.047]
    """
    return np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


@dataclass
class KeywordIndex:
    vocab: dict[str, int]
    idf: np.ndarray
    indptr: np.ndarray  # postings of term t are doc_ids[indptr[t]:indptr[t+1]]
    doc_ids: np.ndarray
    tfs: np.ndarray
    doc_len: np.ndarray

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> "KeywordIndex":
        vocab: dict[str, int] = {}
        postings: list[dict[int, int]] = []
        for doc, tokens in enumerate(token_lists):
            for tok in tokens:
                t = vocab.setdefault(tok, len(vocab))
                if t == len(postings):
                    postings.append({})
                postings[t][doc] = postings[t].get(doc, 0) + 1
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(p) for p in postings])
        doc_ids = np.fromiter((d for p in postings for d in p), dtype=np.int32, count=int(indptr[-1]))
        tfs = np.fromiter((c for p in postings for c in p.values()), dtype=np.float32, count=int(indptr[-1]))
        df = np.diff(indptr).astype(np.float64)
        doc_len = np.array([len(t) for t in token_lists], dtype=np.float32)
        return cls(vocab, bm25_idf(len(token_lists), df).astype(np.float32), indptr, doc_ids, tfs, doc_len)

    def search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """Top-k (doc, BM25 score) for the query tokens, best first; documents with no shared term are left out."""
        n = len(self.doc_len)
        if n == 0:
            return []
        avgdl = float(self.doc_len.mean()) or 1.0
        scores = np.zeros(n, dtype=np.float32)
        for tok in dict.fromkeys(tokens):  # a repeated query word counts once
            t = self.vocab.get(tok)
            if t is None:
                continue
            lo, hi = self.indptr[t], self.indptr[t + 1]
            docs, tf = self.doc_ids[lo:hi], self.tfs[lo:hi]
            norm = tf + K1 * (1 - B + B * self.doc_len[docs] / avgdl)
            scores[docs] += self.idf[t] * tf * (K1 + 1) / norm
        found = np.flatnonzero(scores)
        if found.size == 0:
            return []
        k = min(k, found.size)
        top = found[np.argpartition(-scores[found], k - 1)[:k]]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(d), float(scores[d])) for d in top]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vocab, key=self.vocab.get)
        (folder / "vocab.json").write_text(json.dumps(
            {"k1": K1, "b": B, "tokenizer": "jieba-search+en-light-stem", "terms": terms,
             "df": np.diff(self.indptr).tolist()}, ensure_ascii=False), encoding="utf-8")
        np.savez(folder / "postings.npz", indptr=self.indptr, doc_ids=self.doc_ids, tfs=self.tfs, idf=self.idf)
        np.save(folder / "doc_len.npy", self.doc_len)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["terms"]
        with np.load(folder / "postings.npz") as z:
            arrays = {k: z[k] for k in ("indptr", "doc_ids", "tfs", "idf")}
        return cls({t: i for i, t in enumerate(terms)}, arrays["idf"], arrays["indptr"], arrays["doc_ids"],
                   arrays["tfs"], np.load(folder / "doc_len.npy"))


def passage_tokens(title: str, question: str, text: str, keywords: list[str]) -> list[str]:
    """What the keyword side indexes for a passage: title, question, text and the keywords."""
    head = question if title == question else f"{title} {question}"
    return tokenize(" ".join([head, text, " ".join(keywords)]))

