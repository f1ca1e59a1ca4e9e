"""Hybrid retrieval: dense (FAISS) and keyword (BM25) candidates, fused, filtered by validity window, with
emergency entries pinned to the top when their keywords appear in the message."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from index.embed import Embedder, embedder_for, embedder_id
from index.keyword import tokenize, tokenize_query
from index.synonyms import Synonyms, load_synonyms
from index.store import StoredIndex, load_index
from core.errors import UserError
from suggest.fusion import check_fusion, fuse
from core.language import detect_language
from core.settings import Settings
from core.types import Hit, Passage, SearchResult

PIN_SCORE = 1.0  # pinned emergency entries sort above every fused score (RRF scores are < 0.05)


def validate_message(message: str, settings: Settings) -> str:
    """The message stripped; an empty or over-long message is a UserError naming the limit."""
    text = (message or "").strip()
    if not text:
        raise UserError("the message is empty; pass the customer's message, e.g. python -m suggest \"运费多少？\"")
    if len(text) > settings.max_message_chars:
        raise UserError(f"the message has {len(text)} characters, more than the limit of "
                        f"{settings.max_message_chars} (setting max_message_chars); shorten it")
    return text


def window_state(p: Passage, today: date) -> str:
    """"valid", "expired" (after valid_until) or "not_yet" (before valid_from) on `today`.

    >>> p = Passage("x", "f", "t", "text", valid_from="2026-11-10", valid_until="2026-11-30")
    >>> [window_state(p, date(2026, 11, d)) for d in (9, 10, 30)], window_state(p, date(2026, 12, 1))
    (['not_yet', 'valid', 'valid'], 'expired')
    """
    iso = today.isoformat()
    if p.valid_until and iso > p.valid_until:
        return "expired"
    if p.valid_from and iso < p.valid_from:
        return "not_yet"
    return "valid"


def keyword_in(keyword: str, text: str) -> bool:
    """Whether an emergency keyword occurs in `text` (case-insensitive): a keyword with Latin letters as whole
    words ("late" is not in "plates"), a Chinese or all-digit one anywhere (batch "2610" is in "26100342").

    >>> [keyword_in(k, "How wide are the plates? It came late") for k in ("late", "plate", "wide are")]
    [True, False, True]
    >>> keyword_in("late", "the plates"), keyword_in("快递慢", "快递慢死了"), keyword_in("11.11", "11.11 sale")
    (False, True, True)
    """
    kw = keyword.strip().casefold()
    if not kw:
        return False
    if not kw.isascii() or not re.search(r"[a-z]", kw):
        return kw in text.casefold()
    return re.search(rf"(?<![a-z0-9]){re.escape(kw)}(?![a-z0-9])", text.casefold()) is not None


def emergency_matches(message: str, passages: list[Passage], candidates: list[int], today: date) -> list[int]:
    """Emergency entries valid today whose keywords occur in the message (see `keyword_in`), in index order.

    >>> ps = [Passage("e", "f", "t", "Delays", kind="emergency", keywords=["Singles Day", "双11"])]
    >>> emergency_matches("双11的快递慢吗", ps, [0], date(2026, 11, 20)), emergency_matches("hi", ps, [0], date.today())
    ([0], [])
    """
    return [i for i in candidates
            if passages[i].kind == "emergency" and window_state(passages[i], today) == "valid"
            and any(keyword_in(kw, message) for kw in passages[i].keywords)]


@dataclass
class Retriever:
    """Loads an index folder once and answers `search(message)` calls (thread-safe for reads)."""

    index: StoredIndex
    embedder: Embedder
    settings: Settings
    windowed: int = 0
    emergencies: list[int] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    synonyms: Synonyms | None = None

    @classmethod
    def open(cls, index_dir: str | Path, settings: Settings, embedder: Embedder | None = None) -> "Retriever":
        import faiss

        faiss.omp_set_num_threads(max(1, settings.faiss_threads))
        expected = embedder.model_id if embedder else embedder_id(settings)
        index = load_index(index_dir, expect_model=expected)
        tokenize("预热")  # load jieba's dictionary now, not on the first customer message
        embedder = embedder or embedder_for(settings)
        ps = index.passages
        return cls(index, embedder, settings,
                   windowed=sum(1 for p in ps if p.valid_from or p.valid_until),
                   emergencies=[i for i, p in enumerate(ps) if p.kind == "emergency"],
                   row_of={p.id: i for i, p in enumerate(ps)},
                   synonyms=load_synonyms(Path(index_dir) / "rules"))  # bundled groups + the shop's own

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index.dense.ntotal == 0:
            return []
        scores, ids = self.index.dense.search(vector.reshape(1, -1), min(k, self.index.dense.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, message: str, today: date | None = None, k: int | None = None, fusion: str | None = None,
               language: str | None = None) -> SearchResult:
        """Hits best first, the detected language and timings (ms) for a customer message; a bad message or
        fusion name is a UserError."""
        s = self.settings
        today = today or date.today()
        k = k or s.top_k
        fusion = check_fusion(fusion or s.fusion)
        message = validate_message(message, s)
        lang = language or detect_language(message)
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        # over-fetch by the number of dated entries so filtering out expired ones cannot starve the result
        n_cand = s.candidates_k + self.windowed
        dense: list[tuple[int, float]] = []
        if fusion != "keyword":
            vec = self.embedder.encode_queries([message])[0]
            timings["embed"] = (time.perf_counter() - t0) * 1000
            t1 = time.perf_counter()
            dense = self.dense_search(vec, n_cand)
            timings["dense"] = (time.perf_counter() - t1) * 1000
        keyword: list[tuple[int, float]] = []
        if fusion != "dense":
            t2 = time.perf_counter()
            keyword = self.index.keyword.search(tokenize_query(message, self.synonyms), n_cand)
            timings["keyword"] = (time.perf_counter() - t2) * 1000
        ps = self.passages
        ok = lambda i: window_state(ps[i], today) == "valid"  # noqa: E731
        dense = [(i, sc) for i, sc in dense if ok(i)]
        keyword = [(i, sc) for i, sc in keyword if ok(i)]
        weight = s.dense_weight_zh if lang == "zh" else s.dense_weight_en
        fused = fuse(dense, keyword, fusion, s.rrf_k, weight)
        pinned = emergency_matches(message, ps, self.emergencies, today)
        d_rank = {i: r for r, (i, _) in enumerate(dense, 1)}
        d_score = dict(dense)
        k_rank = {i: r for r, (i, _) in enumerate(keyword, 1)}
        order = pinned + [i for i, _ in fused if i not in pinned]
        scores = {i: sc for i, sc in fused}
        hits = [Hit(ps[i], PIN_SCORE if i in pinned else scores[i], dense_score=d_score.get(i, 0.0),
                    dense_rank=d_rank.get(i, 0), keyword_rank=k_rank.get(i, 0), pinned=i in pinned)
                for i in order[: max(k, len(pinned))]]
        if fusion != "keyword":
            self._fill_dense_scores(hits, vec)
        timings["retrieve"] = (time.perf_counter() - t0) * 1000
        return SearchResult(hits, lang, timings, vec if fusion != "keyword" else None)

    def _fill_dense_scores(self, hits: list[Hit], vec: np.ndarray) -> None:
        """Cosine for hits the dense side did not return (keyword-only finds), for the saved-reply threshold."""
        for h in hits:
            if h.dense_score == 0.0 and h.id in self.row_of:
                h.dense_score = float(np.dot(self.index.dense.reconstruct(self.row_of[h.id]), vec))
