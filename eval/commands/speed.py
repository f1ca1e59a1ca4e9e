"""`python -m eval speed`: retrieval and index-build speed for each thread count.

(a) retrieval p50/p95 on the demo index, including the query embedding; (b) the same on a synthetic N-passage
index (eval.synthetic_index); (c) full-rebuild throughput of the knowledge folder in passages/s. Thread counts are
set at runtime (torch and faiss) and put back to the shipped defaults at the end.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from core.errors import UserError
from core.settings import load_settings
from core.types import Passage
from eval.metrics import percentiles
from eval.report import fmt_ms, table
from eval.run import load_eval_set
from eval.synthetic_index import synthetic_index
from index.build import build_index
from index.embed import embedder_for
from suggest.retrieve import Retriever


@dataclass(frozen=True)
class SpeedOptions:
    """Paths are kept as typed: they are echoed in the output."""

    knowledge: str  # knowledge folder to build
    eval_set: str  # where the queries come from (the indexed questions/titles when absent)
    passages: int  # size of the synthetic index; 0 skips it
    dense_index: str  # FAISS index kind: flat or hnsw
    threads: tuple[int, ...]
    repeat: int  # passes over the queries per setting
    today: date
    index: str | None = None  # time retrieval on this index (default: the one built here)


@dataclass(frozen=True)
class SpeedReport:
    machine: dict[str, Any]
    embedding_model: str
    fusion: str
    top_k: int
    embed_max_tokens: int
    query_max_tokens: int
    notes: list[str]
    build: dict[str, Any]  # "knowledge" and "threads_N" → passages, seconds, passages_per_s, embed_passages_per_s
    demo_retrieval: dict[str, Any]  # index facts and "threads_N" → queries, p50, p95, parts_p50
    synthetic_retrieval: dict[str, Any] | None  # as demo_retrieval, plus what was generated; None when skipped
    threads: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["threads"]
        if self.synthetic_retrieval is None:
            del out["synthetic_retrieval"]
        return out

    def text(self) -> str:
        m, b = self.machine, self.build
        lines = [f"machine: {m['cpus']} CPUs, torch {m['torch']}, faiss {m['faiss']}, load average (1 min) "
                 f"{m['load_average_1m_at_start']} at start, {m['load_average_1m_at_end']} at end; embedding "
                 f"{self.embedding_model} (passages cut at {self.embed_max_tokens} tokens, queries at "
                 f"{self.query_max_tokens}); fusion {self.fusion}, top {self.top_k}"]
        rows = []
        for label, r in (("demo index", self.demo_retrieval), ("synthetic index", self.synthetic_retrieval)):
            if r is None:
                continue
            for t in self.threads:
                x = r[f"threads_{t}"]
                parts = ", ".join(f"{k} {v:.1f}" for k, v in x["parts_p50"].items() if v is not None)
                rows.append([f"{label} ({r['passages']} passages)", t, x["queries"], fmt_ms(x["p50"]),
                             fmt_ms(x["p95"]), parts])
        lines += ["\nretrieval, full search including the query embedding (ms):",
                  table(["index", "threads", "queries", "p50", "p95", "p50 parts"], rows),
                  f"\nfull rebuild of {b['knowledge']} (model loaded once beforehand):",
                  table(["threads", "passages", "seconds", "passages/s", "embed passages/s"],
                        [[t, b[f"threads_{t}"]["passages"], b[f"threads_{t}"]["seconds"],
                          b[f"threads_{t}"]["passages_per_s"], b[f"threads_{t}"]["embed_passages_per_s"]]
                         for t in self.threads])]
        if (s := self.synthetic_retrieval) is not None:
            lines.append(f"\nsynthetic index: {s['passages']} passages, vocabulary {s['vocabulary']}, {s['tokens']} "
                         f"tokens, generated and written in {s['generate_and_write_s']} s, loaded in {s['load_s']} s")
        return "\n".join(lines + [f"note: {note}" for note in self.notes])


def _set_threads(n: int) -> None:
    import faiss
    import torch

    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _time_queries(retriever: Retriever, queries: Sequence[str], today: date, repeat: int = 1) -> dict[str, Any]:
    for q in queries[:3]:  # warm-up
        retriever.search(q, today)
    parts: dict[str, list[float]] = {}
    for _ in range(repeat):
        for q in queries:
            for key, v in retriever.search(q, today).timings_ms.items():
                parts.setdefault(key, []).append(v)
    out = {"queries": len(parts.get("retrieve", [])), **percentiles(parts.get("retrieve", []))}
    out["parts_p50"] = {k: percentiles(v, (50,))["p50"] for k, v in parts.items() if k != "retrieve"}
    return out


def _demo_queries(set_path: Path, passages: Sequence[Passage]) -> tuple[list[str], str]:
    """(queries, where they come from): the eval set's questions, else the indexed questions/titles."""
    if set_path.is_file():
        return [c["question"] for c in load_eval_set(set_path)], str(set_path)
    qs = [p.question or p.title for p in passages if (p.question or p.title)][:100]
    return qs, "questions/titles of the indexed passages (eval set not found)"


def run_speed(options: SpeedOptions) -> SpeedReport:
    """Time builds and retrievals for every thread count (minutes with a 100k-passage synthetic index)."""
    import faiss
    import torch

    knowledge = Path(options.knowledge)
    if not knowledge.is_dir():
        raise UserError(f"knowledge folder {options.knowledge} not found; pass --knowledge DIR")
    threads = options.threads
    settings = load_settings(knowledge, dense_index=options.dense_index)
    embedder = embedder_for(settings)  # the shipped embedder (its passage and query token limits)
    machine = {"cpus": os.cpu_count(), "torch": torch.__version__, "faiss": faiss.__version__,
               "load_average_1m_at_start": _load_average()}
    notes: list[str] = []
    synthetic: dict[str, Any] | None = None
    embedder.encode_queries(["warm-up", "预热"])
    with tempfile.TemporaryDirectory(prefix="eval-speed-") as tmp:
        # (c) build throughput: full rebuilds of the demo shop, model already loaded
        build: dict[str, Any] = {"knowledge": str(knowledge)}
        demo_index = Path(options.index) if options.index else None
        for t in threads:
            _set_threads(t)
            target = Path(tmp) / f"build-{t}"
            s = build_index(knowledge, target, settings, embedder=embedder)
            build[f"threads_{t}"] = {
                "passages": s.passages, "seconds": round(s.seconds, 2),
                "passages_per_s": round(s.passages / s.seconds, 1) if s.seconds else None,
                "embed_passages_per_s": round(s.passages / s.embed_seconds, 1) if s.embed_seconds else None}
            demo_index = demo_index or target
        # (a) demo index retrieval, full search including the query embedding
        retriever = Retriever.open(demo_index, settings, embedder)
        queries, qsource = _demo_queries(Path(options.eval_set), retriever.passages)
        demo: dict[str, Any] = {"index": options.index or "(built above)", "passages": len(retriever.passages),
                                "queries_from": qsource}
        for t in threads:
            _set_threads(t)
            demo[f"threads_{t}"] = _time_queries(retriever, queries, options.today, repeat=options.repeat)
        # (b) synthetic N-passage index, real writer, real Retriever.search, real query embedder
        if options.passages > 0:
            syn_dir = Path(tmp) / "synthetic"
            synthetic = synthetic_index(syn_dir, options.passages, embedder.dim, embedder.model_id,
                                        retriever.passages, options.dense_index)
            t0 = time.perf_counter()
            syn = Retriever.open(syn_dir, settings, embedder)
            synthetic["load_s"] = round(time.perf_counter() - t0, 1)
            synthetic["dense_index"] = options.dense_index
            synthetic["queries_from"] = qsource
            for t in threads:
                _set_threads(t)
                synthetic[f"threads_{t}"] = _time_queries(syn, queries, options.today, repeat=options.repeat)
            notes.append(
                f"synthetic index: {options.passages} passages of random unit vectors (dense side) and random "
                "multilingual token text (keyword side: Zipf draws over a vocabulary of the demo shop's tokens, given "
                "the highest frequencies so the real queries meet long posting lists, then common words of jieba's "
                "dictionary), written with the real index writer; timed with the real Retriever.search and "
                f"the real query embedder ({embedder.model_id}); hits are meaningless, only the time counts")
    _set_threads(settings.torch_threads)
    machine["load_average_1m_at_end"] = _load_average()
    notes.append("thread counts set at runtime with torch.set_num_threads and faiss.omp_set_num_threads; "
                 f"the shipped defaults are torch_threads={settings.torch_threads}, "
                 f"faiss_threads={settings.faiss_threads}")
    return SpeedReport(machine=machine, embedding_model=embedder.model_id, fusion=settings.fusion,
                       top_k=settings.top_k, embed_max_tokens=settings.embed_max_tokens,
                       query_max_tokens=settings.query_max_tokens, notes=notes, build=build, demo_retrieval=demo,
                       synthetic_retrieval=synthetic, threads=threads)
