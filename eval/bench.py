"""Generation speed per backend and thread count (`python -m eval bench`).

For every (backend, threads) pair: load the generator, warm it up with one untimed draft per language of the
cases (the prompt prefix gets cached, as in a running app), then draft each case and measure
- `first_token_ms` p50/p95 — from the request to the first streamed piece (prompt processing);
- `tokens_per_s` p50 — decode speed: (tokens − 1) / (last piece − first piece), tokens counted with the
  model's own tokenizer when the backend has one (else streamed pieces);
- `draft_ms` p50/p95 — the whole draft; `peak_rss_mb` — resident memory peak while this pair ran
  (sampled; weights that are memory-mapped count in full);
- `load_s` and `cold_first_token_ms` (the first request, prefix not cached yet).

    result = run_bench("var/demo-index", ["llama.cpp"], [1, 2], ["包邮吗？", "Do you ship to Tibet?"], settings)
    print(result["table"])
"""
from __future__ import annotations

import gc
import threading
import time
from dataclasses import replace
from datetime import date
from typing import Any, Callable, Mapping, Sequence

import psutil

from eval.metrics import percentiles
from core.errors import GeneratorError
from suggest.backends import check_backend_name, close_generator, make_generator
from suggest.drafting import stream_model_draft
from core.errors import UserError
from core.settings import Settings, ShopProfile, load_shop
from core.types import Hit
from suggest.retrieve import Retriever

Retrieve = Callable[[str], tuple[list[Hit], str]]
RSS_SAMPLE_S = 0.05
THREADLESS_BACKENDS = ("openai", "fake")  # thread count means nothing for them: run once
DEFAULT_MESSAGES = ("包邮吗？多久能到？", "Do you ship to Tibet, and how long does delivery take?",
                    "这个水壶能放洗碗机吗？", "Can I return an item I have not used?")
MS = 1000.0


class PeakRSS:
    """Samples this process's resident memory in a background thread; `peak_mb` is the maximum seen."""

    def __init__(self, interval_s: float = RSS_SAMPLE_S) -> None:
        self.proc = psutil.Process()
        self.interval_s = interval_s
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def _messages(cases: Sequence[str | Mapping[str, Any]] | int) -> list[str]:
    if isinstance(cases, int):
        return [DEFAULT_MESSAGES[i % len(DEFAULT_MESSAGES)] for i in range(cases)]
    out = [c if isinstance(c, str) else str(c.get("question", "")) for c in cases]
    out = [m for m in out if m.strip()]
    if not out:
        raise UserError("the benchmark needs at least one case with a question")
    return out


def _index_retriever(index_dir: str, settings: Settings) -> Retrieve:

    retriever = Retriever.open(index_dir, settings)
    today = date.today()

    def retrieve(message: str) -> tuple[list[Hit], str]:
        found = retriever.search(message, today)
        return found.hits, found.language

    return retrieve


def _draft_once(message: str, hits: list[Hit], lang: str, shop: ShopProfile, settings: Settings,
                generator: Any) -> dict[str, float]:
    """Timings (s) and token count of one streamed draft."""
    t0 = time.perf_counter()
    first = last = None
    stream = stream_model_draft(message, hits, lang, shop, settings, generator)
    for _ in stream:
        last = time.perf_counter()
        if first is None:
            first = last
    end = time.perf_counter()
    if first is None:
        raise GeneratorError("the model returned an empty reply")
    count = getattr(generator, "count_tokens", None)
    tokens = count(stream.text) if callable(count) else len(stream.chunks)
    return {"first_token_s": first - t0, "draft_s": end - t0, "decode_s": (last or first) - first, "tokens": tokens}


def bench_one(backend: str, threads: int, queries: Sequence[tuple[str, list[Hit], str]], settings: Settings,
              shop: ShopProfile) -> dict[str, Any]:
    """Load one generator, warm it up, time every query; the generator is closed afterwards."""
    cfg = replace(settings, backend=backend, llm_threads=threads)
    row: dict[str, Any] = {"backend": backend, "threads": None if backend in THREADLESS_BACKENDS else threads,
                           "cases": len(queries)}
    gc.collect()
    with PeakRSS() as rss:
        t = time.perf_counter()
        generator = make_generator(cfg, backend)
        row["load_s"] = round(time.perf_counter() - t, 2)
        try:
            cold: list[float] = []
            for lang in dict.fromkeys(q[2] for q in queries):  # warm-up: one untimed draft per language
                message, hits, _ = next(q for q in queries if q[2] == lang)
                cold.append(_draft_once(message, hits, lang, shop, cfg, generator)["first_token_s"])
            row["cold_first_token_ms"] = round(max(cold) * MS, 1)
            runs, errors = [], []
            for message, hits, lang in queries:
                try:
                    runs.append(_draft_once(message, hits, lang, shop, cfg, generator))
                except GeneratorError as e:
                    errors.append(str(e))
        finally:
            close_generator(generator)
            del generator
            gc.collect()
    rates = [(r["tokens"] - 1) / r["decode_s"] for r in runs if r["tokens"] > 1 and r["decode_s"] > 0]
    row.update({
        "first_token_ms": percentiles([r["first_token_s"] * MS for r in runs], ndigits=1),
        "tokens_per_s": percentiles(rates, ndigits=1),
        "draft_ms": percentiles([r["draft_s"] * MS for r in runs], ndigits=1),
        "tokens_mean": round(sum(r["tokens"] for r in runs) / len(runs), 1) if runs else None,
        "peak_rss_mb": rss.peak_mb,
        "errors": len(errors),
    })
    if errors:
        row["error_examples"] = errors[:3]
    return row


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of the benchmark rows (README-ready)."""
    head = ("| backend | threads | first token p50 / p95 (ms) | decode tok/s p50 | draft p50 / p95 (ms) | "
            "cold first token (ms) | load (s) | peak RSS (MB) | errors |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def pair(d: Mapping[str, Any] | None) -> str:
        return "–" if not d else f"{d.get('p50')} / {d.get('p95')}"

    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['backend']} | {r.get('threads') or '–'} | skipped: {r['skipped']} |||||||")
            continue
        lines.append(f"| {r['backend']} | {r.get('threads') or '–'} | {pair(r['first_token_ms'])} | "
                     f"{(r['tokens_per_s'] or {}).get('p50', '–')} | {pair(r['draft_ms'])} | "
                     f"{r.get('cold_first_token_ms', '–')} | {r.get('load_s', '–')} | {r['peak_rss_mb']} | "
                     f"{r['errors']} |")
    return "\n".join(lines)


def run_bench(index_dir: str | None, backends: Sequence[str], threads: Sequence[int],
              cases: Sequence[str | Mapping[str, Any]] | int, settings: Settings, *,
              retrieve: Retrieve | None = None, shop: ShopProfile | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Speed of every backend × thread count over `cases` (messages, eval-set cases with "question", or a
    number of built-in messages). Retrieval runs once per case up front (through `retrieve`, or the index in
    `index_dir`), so only generation is timed. A backend that cannot load is reported as skipped."""
    for backend in backends:
        check_backend_name(backend)  # a typo is an error, not a skipped row
    messages = _messages(cases)
    if retrieve is None:
        if not index_dir:
            raise UserError("the benchmark needs an index folder (--index) or a retrieve function")
        retrieve = _index_retriever(str(index_dir), settings)
    if shop is None:
        shop = load_shop(index_dir) if index_dir else ShopProfile()
    queries = [(m, *retrieve(m)) for m in messages]
    rows: list[dict[str, Any]] = []
    for backend in backends:
        for n in (threads[:1] if backend in THREADLESS_BACKENDS else threads):
            if progress:
                progress(f"bench: {backend} with {n} thread(s) over {len(queries)} cases")
            try:
                rows.append(bench_one(backend, n, queries, settings, shop))
            except UserError as e:
                rows.append({"backend": backend, "threads": n, "skipped": str(e)})
    return {"cases": len(queries), "runs": rows, "table": format_table(rows),
            "settings": {"model": settings.model or "default", "n_ctx": settings.n_ctx,
                         "max_new_tokens": settings.max_new_tokens, "temperature": settings.temperature,
                         "draft_passages": settings.draft_passages}}
