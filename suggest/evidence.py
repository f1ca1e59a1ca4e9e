"""Evidence: the 1–3 sentences of the usable hits that answer the message, each with the id of its passage.

Every sentence of the best usable hits (a *unit*) is scored against the message:

    score = W_DENSE · rescaled cosine(message, title + sentence)   (sentence vectors from the index: index/sentences.py)
          + W_KEYWORD · share of the message's keywords (idf-weighted) found in the sentence, its title counting half
          + W_RANK / rank of its passage

A short FAQ / past-reply / emergency answer, or a passage of one sentence, is one unit scored with the cosine the
retriever already computed for the passage. A pinned emergency entry (its keywords are in the message) overrides the
usual answers: it alone is the evidence. The best score is the suggestion's `confidence`.

>>> idf = lambda t: {"ship": 1.0, "free": 2.0, "tibet": 3.0}.get(t, 3.0)
>>> keyword_coverage(["ship", "tibet"], ["ship", "free"], [], idf)
0.25
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from core.language import detect_language
from core.types import Evidence, Hit
from core.instructions import addressed_to_assistant
from index.embed import Embedder
from index.keyword import KeywordIndex, tokenize
from index.sentences import SentenceStore, evidence_sentences, sentence_context, whole_passage

Idf = Callable[[str], float]

W_DENSE, W_KEYWORD, W_RANK = 0.5, 0.4, 0.1
TITLE_WEIGHT = 0.5  # a message keyword found only in the title (heading path) counts half
UNIT_HITS = 3  # the best usable hits whose sentences are scored
MAX_EMBEDDED = 12  # sentences embedded per message at most (the latency budget: ≤ 100 ms after retrieval)
MAX_EVIDENCE = 3
KEEP_RATIO = 0.85  # a second or third sentence (of the same passage) must score at least this share of the best
DUPLICATE_JACCARD = 0.6  # two sentences sharing this share of their keywords state the same fact
PINNED_CONFIDENCE = 1.0


@dataclass(frozen=True)
class Unit:
    """A candidate piece of evidence: one sentence (or a whole stored answer) of a hit of rank `rank` (1-based)."""

    hit: Hit
    rank: int
    sentence: str
    whole: bool = False


@dataclass
class EvidenceSelection:
    """The chosen evidence (best first), the confidence (the best unit's score, 0 when there is none) and every
    scored sentence per hit id, best first (shown on the hits)."""

    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 0.0
    by_hit: dict[str, list[Evidence]] = field(default_factory=dict)


def idf_of(index: KeywordIndex) -> Idf:
    """The keyword index's idf per token; a token the knowledge never uses weighs as much as the rarest one."""
    unknown = float(index.idf.max()) if len(index.idf) else 1.0
    return lambda token: float(index.idf[index.vocab[token]]) if token in index.vocab else unknown


def keyword_coverage(message_tokens: Sequence[str], sentence_tokens: Sequence[str], title_tokens: Sequence[str],
                     idf: Idf) -> float:
    """Share of the message's distinct keywords, weighted by idf, found in the sentence (1) or only its title
    (TITLE_WEIGHT); 0 for a message without keywords."""
    wanted = set(message_tokens)
    total = sum(idf(t) for t in wanted)
    if not total:
        return 0.0
    said, titled = set(sentence_tokens), set(title_tokens)
    found = sum(idf(t) * (1.0 if t in said else TITLE_WEIGHT if t in titled else 0.0) for t in wanted)
    return found / total


def units_of(hits: Sequence[Hit], lang: str, max_hits: int = UNIT_HITS) -> list[Unit]:
    """The sentences of the best `max_hits` hits in the message's language (all hits' when none is), a short
    stored answer or a one-sentence passage whole; while a pinned emergency entry is among them, only pinned ones.

    >>> from core.types import Passage
    >>> doc = Hit(Passage("d", "a.md", "Returns", "Unused items return in 7 days. Refunds take 3 days."), 0.5)
    >>> faq = Hit(Passage("f", "faq.csv", "Q", "Yes, ¥5.", kind="faq", question="Gift wrap?"), 0.4)
    >>> [(u.hit.id, u.sentence, u.whole) for u in units_of([doc, faq], "en")]
    [('d', 'Unused items return in 7 days.', False), ('d', 'Refunds take 3 days.', False), ('f', 'Yes, ¥5.', True)]
    """
    pinned = [h for h in hits if h.pinned]
    chosen = pinned or [h for h in hits if _lang_of(h) == lang] or list(hits)
    units: list[Unit] = []
    for rank, hit in enumerate(chosen[:max_hits], 1):
        split = evidence_sentences(hit.passage.text)
        if whole_passage(hit.passage, split):
            if not addressed_to_assistant(hit.passage.text).flagged:
                units.append(Unit(hit, rank, hit.passage.text.strip(), whole=True))
        else:  # a sentence that speaks to the assistant is never a customer's evidence, flagged passage or not
            units.extend(Unit(hit, rank, s) for s in split if not addressed_to_assistant(s).flagged)
    return units


def _lang_of(hit: Hit) -> str:
    return hit.passage.lang or detect_language(hit.passage.text)


def dense_scores(units: Sequence[Unit], query_vector: np.ndarray | None, embedder: Embedder | None,
                 store: SentenceStore | None = None) -> list[float]:
    """Cosine of the message with each unit: a stored answer's from retrieval, a sentence's from the index's
    sentence vectors, else embedded now with its title (at most MAX_EMBEDDED, in one batch; the rest get 0).
    Without a query vector (keyword-only retrieval) sentences get 0."""
    scores = [float(u.hit.dense_score) if u.whole else 0.0 for u in units]
    if query_vector is None:
        return scores
    query = np.asarray(query_vector, dtype=np.float32)
    todo = []
    for i, u in enumerate(units):
        stored = None if u.whole or store is None else store.vector(u.hit.id, u.sentence)
        if stored is not None:
            scores[i] = float(stored @ query)
        elif not u.whole:
            todo.append(i)
    todo = todo[:MAX_EMBEDDED] if embedder is not None else []
    if todo:
        vecs = embedder.encode_passages([sentence_context(units[i].hit.passage, units[i].sentence) for i in todo])
        for i, cos in zip(todo, vecs @ query):
            scores[i] = float(cos)
    return scores


def rescale(cosine: float, floor: float) -> float:
    """A cosine read against the embedder's floor (what unrelated texts score): (cos - floor) / (1 - floor), ≥ 0.

    >>> rescale(0.9, 0.8), rescale(0.7, 0.8), rescale(0.5, 0.0)
    (0.5, 0.0, 0.5)
    """
    return max(0.0, (cosine - floor) / (1.0 - floor)) if floor < 1 else 0.0


def score_units(message: str, units: Sequence[Unit], dense: Sequence[float], idf: Idf,
                cosine_floor: float = 0.0) -> list[float]:
    """Each unit's score (see the module docstring), in 0..1."""
    wanted = tokenize(message, query=True)
    out = []
    for unit, cos in zip(units, dense):
        p = unit.hit.passage
        title = f"{p.title} {p.question}" if p.question and p.question != p.title else p.title
        cover = keyword_coverage(wanted, tokenize(unit.sentence), tokenize(title), idf)
        out.append(W_DENSE * rescale(cos, cosine_floor) + W_KEYWORD * cover + W_RANK / unit.rank)
    return out


def pick(scored: Sequence[Evidence], max_n: int = MAX_EVIDENCE, keep_ratio: float = KEEP_RATIO) -> list[Evidence]:
    """The best unit, then up to `max_n - 1` more of the same passage scoring at least `keep_ratio` of it that do
    not repeat a fact already picked (keyword Jaccard ≥ DUPLICATE_JACCARD). Sentences of other passages are left
    out: next to the answer they tend to be facts about something else.

    >>> ev = [Evidence("a", "Free shipping over ¥99.", 0.9), Evidence("b", "Shipping is free over ¥99!", 0.88),
    ...       Evidence("a", "Free shipping over ¥99 only.", 0.85), Evidence("a", "Remote regions pay ¥8.", 0.8),
    ...       Evidence("c", "Sizes S to XL.", 0.2)]
    >>> [e.sentence for e in pick(ev)]
    ['Free shipping over ¥99.', 'Remote regions pay ¥8.']
    """
    ranked = sorted(scored, key=lambda e: -e.score)
    chosen: list[Evidence] = []
    seen: list[set[str]] = []
    for e in ranked:
        if len(chosen) >= max_n or (chosen and e.score < keep_ratio * chosen[0].score):
            break
        if chosen and e.hit_id != chosen[0].hit_id:
            continue
        words = set(tokenize(e.sentence))
        if any(_jaccard(words, s) >= DUPLICATE_JACCARD for s in seen):
            continue
        chosen.append(e)
        seen.append(words)
    return chosen


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def select_evidence(message: str, hits: Sequence[Hit], lang: str, idf: Idf, *,
                    query_vector: np.ndarray | None = None, embedder: Embedder | None = None,
                    store: SentenceStore | None = None, cosine_floor: float = 0.0) -> EvidenceSelection:
    """The evidence for `message` from usable `hits` (best first): see the module docstring."""
    units = units_of(hits, lang)
    if not units:
        return EvidenceSelection()
    scores = score_units(message, units, dense_scores(units, query_vector, embedder, store), idf, cosine_floor)
    scored = [Evidence(u.hit.id, u.sentence, s) for u, s in zip(units, scores)]
    by_hit: dict[str, list[Evidence]] = {}
    for e in sorted(scored, key=lambda e: -e.score):
        by_hit.setdefault(e.hit_id, []).append(e)
    evidence = pick(scored)
    confidence = evidence[0].score if evidence else 0.0
    if any(u.hit.pinned for u in units):
        confidence = max(confidence, PINNED_CONFIDENCE)
    return EvidenceSelection(evidence, confidence, by_hit)
