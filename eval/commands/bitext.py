"""`python -m eval bitext`: intent retrieval on the public English Bitext customer-support sample.

Part of each intent's responses is indexed as past replies; held-out instructions of the same intents are asked;
a hit is right when it carries the question's intent. The data is read from ../shared/data, never copied; without
it the benchmark is skipped (exit 0).
"""
from __future__ import annotations

import csv
import json
import random
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from core.errors import UserError
from core.settings import load_settings
from eval.metrics import percentiles
from eval.report import Skipped, fmt_ms, table
from index.build import build_index
from suggest.fusion import FUSIONS
from suggest.retrieve import Retriever

TODAY = date(2026, 1, 1)  # no validity windows in this set; any fixed day
SCORE = ("intent@1: the top hit's intent equals the question's; intent@5: any of the top 5 does; "
         "MRR@10 over the first same-intent hit")


@dataclass(frozen=True)
class BitextOptions:
    csv: Path  # Bitext_Sample_Customer_Support_Training_Dataset.csv (instruction, intent, response columns)
    per_intent_index: int  # rows indexed per intent
    queries_per_intent: int  # held-out questions per intent
    seed: int  # shuffle seed of the split
    fusions: tuple[str, ...]
    progress: bool = True


@dataclass(frozen=True)
class BitextReport:
    data: str
    rows: int
    intents: int
    indexed_replies: int
    queries: int
    seed: int
    split: str
    score: str
    fusions: dict[str, dict[str, Any]]  # fusion → intent_at_1, intent_at_5, mrr_at_10, retrieval_ms
    embedding_model: str
    passages: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        rows = [[f, s["intent_at_1"], s["intent_at_5"], s["mrr_at_10"], fmt_ms(s["retrieval_ms"]["p50"]),
                 fmt_ms(s["retrieval_ms"]["p95"])] for f, s in self.fusions.items()]
        return "\n".join([
            f"Bitext customer-support sample ({self.rows} rows, {self.intents} intents), English only; "
            f"embedding {self.embedding_model}",
            f"split: {self.split}",
            f"indexed {self.indexed_replies} past replies ({self.passages} passages); "
            f"asked {self.queries} held-out instructions",
            table(["fusion", "intent@1", "intent@5", "MRR@10", "p50 ms", "p95 ms"], rows)])


def read_bitext(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"instruction", "intent", "response"} <= set(rows[0]):
        raise UserError(f"{path} lacks the instruction/intent/response columns")
    return rows


def split_bitext(rows: Sequence[dict[str, str]], per_index: int, per_query: int, seed: int
                 ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(indexed rows, query rows): per intent, rows shuffled with `seed`; the first `per_index` are indexed, the
    next rows become queries (up to `per_query`), skipping any whose instruction text equals an indexed one.

    >>> rows = [{"intent": i, "instruction": f"{i}{n}", "response": "r"} for i in "ab" for n in range(5)]
    >>> idx, qs = split_bitext(rows, 2, 2, 0)
    >>> len(idx), len(qs), {r["instruction"] for r in idx} & {r["instruction"] for r in qs}
    (4, 4, set())
    """
    rng = random.Random(seed)
    by_intent: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_intent.setdefault(r["intent"], []).append(r)
    indexed, queries = [], []
    for intent in sorted(by_intent):
        group = list(by_intent[intent])
        rng.shuffle(group)
        idx = group[:per_index]
        seen = {" ".join(r["instruction"].lower().split()) for r in idx}
        qs = [r for r in group[per_index:] if " ".join(r["instruction"].lower().split()) not in seen][:per_query]
        indexed += idx
        queries += qs
    return indexed, queries


def intent_scores(same: Sequence[Sequence[bool]], ms: Sequence[float]) -> dict[str, Any]:
    """intent@1, intent@5 and MRR@10 from, per query, whether each ranked hit has the query's intent.

    >>> s = intent_scores([[False, True], [True], []], [1.0, 2.0, 3.0])
    >>> s["intent_at_1"], s["intent_at_5"], s["mrr_at_10"]
    (0.333, 0.667, 0.5)
    """
    at1 = sum(bool(s[:1] and s[0]) for s in same)
    at5 = sum(any(s[:5]) for s in same)
    rr = sum(1.0 / (list(s).index(True) + 1) if True in s else 0.0 for s in same)
    n = max(1, len(same))
    return {"intent_at_1": round(at1 / n, 3), "intent_at_5": round(at5 / n, 3), "mrr_at_10": round(rr / n, 3),
            "retrieval_ms": percentiles(ms)}


def run_bitext(options: BitextOptions) -> BitextReport | Skipped:
    """Index, ask and score every fusion; Skipped when the CSV is absent."""
    if not options.csv.is_file():
        return Skipped(f"Bitext data not found at {options.csv.parent} (expected {options.csv.name}); it is read "
                       "from ../shared/data, never copied into the repo")
    if options.per_intent_index < 1 or options.queries_per_intent < 1:
        raise UserError("--per-intent-index and --queries-per-intent must be at least 1")
    unknown = [f for f in options.fusions if f not in FUSIONS]
    if unknown or not options.fusions:
        raise UserError(f"--fusions {','.join(options.fusions)!r}: valid are {', '.join(FUSIONS)}")
    per_index, per_query, seed = options.per_intent_index, options.queries_per_intent, options.seed
    rows = read_bitext(options.csv)
    indexed, queries = split_bitext(rows, per_index, per_query, seed)
    settings = load_settings(None)
    fusions: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="eval-bitext-") as tmp:
        kdir = Path(tmp) / "knowledge"
        kdir.mkdir()
        with open(kdir / "past_replies.jsonl", "w", encoding="utf-8") as f:
            for r in indexed:
                f.write(json.dumps({"question": r["instruction"].strip(), "answer": r["response"].strip(),
                                    "kind": "past_reply", "tags": r["intent"]}, ensure_ascii=False) + "\n")
        build_index(kdir, Path(tmp) / "index", settings)
        retriever = Retriever.open(Path(tmp) / "index", settings)
        if queries:
            retriever.search(queries[0]["instruction"], TODAY, k=10)  # warm-up
        for fusion in options.fusions:
            same: list[list[bool]] = []
            ms: list[float] = []
            for q in tqdm(queries, desc=f"bitext {fusion}", unit="q", file=sys.stderr, disable=not options.progress):
                found = retriever.search(q["instruction"], TODAY, k=10, fusion=fusion)
                ms.append(found.timings_ms["retrieve"])
                same.append([q["intent"] in h.passage.tags for h in found.hits])
            fusions[fusion] = intent_scores(same, ms)
    return BitextReport(
        data=str(options.csv.parent), rows=len(rows), intents=len({r["intent"] for r in rows}),
        indexed_replies=len(indexed), queries=len(queries), seed=seed,
        split=(f"per intent, rows shuffled with seed {seed}: the first {per_index} rows' responses indexed as "
               f"past replies (question = instruction, answer = response, tags = intent); up to {per_query} "
               "other rows of the intent asked as held-out instructions (disjoint rows; an instruction whose "
               "text equals an indexed one is skipped)"),
        score=SCORE, fusions=fusions, embedding_model=retriever.embedder.model_id, passages=len(retriever.passages))
