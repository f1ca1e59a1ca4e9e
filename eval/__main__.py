"""`python -m eval {run,compare,bitext,speed,bench,pii}`: score retrieval, drafts, checks and speed."""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from core.cli import EXIT_OK, parse_today, print_json, run_main
from core.errors import UserError
from suggest.fusion import FUSIONS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = REPO / "eval" / "sets" / "demo.jsonl"
DEFAULT_KNOWLEDGE = REPO / "data" / "demo-shop"
DEFAULT_BITEXT = REPO.parent / "shared" / "data" / "bitext-2023-08"
BITEXT_CSV = "Bitext_Sample_Customer_Support_Training_Dataset.csv"

EPILOG = """examples:
  # retrieval only (fast): recall@1/@5, MRR@10, latency, overall and per language
  python -m eval run eval/sets/demo.jsonl --index var/demo-index --no-draft --today 2026-11-23
  # with drafts (loads the generator): adds must_mention, groundedness, style, escalation, speed
  python -m eval run eval/sets/demo.jsonl --index var/demo-index --today 2026-11-23 --json --save var/run.json
  # keyword-only vs dense-only vs hybrid on the demo shop (builds a temporary index)
  python -m eval compare --knowledge data/demo-shop --set eval/sets/demo.jsonl --today 2026-11-23
  # the public English Bitext set from ../shared/data (skipped when absent)
  python -m eval bitext
  # retrieval and build speed, 1 vs 2 threads, on the demo index and a synthetic 100k-passage index
  python -m eval speed --passages 100000
  # generation speed per backend and thread count
  python -m eval bench --index var/demo-index --backends llama.cpp,transformers --threads 1,2
  # personal-data masking rate on a synthetic set
  python -m eval pii

Settings come from the shop.yaml stored in the index (or the knowledge folder) and COPILOT_* environment
variables, e.g. COPILOT_EMBED_MODEL=hash:256 for a fake embedder in tests.
exit codes: 0 ok (also "skipped" when optional data is absent); 2 bad input (one line on stderr)."""


# ---------------------------------------------------------------------------------------------------- output


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, dict) and set(v) >= {"p50", "p95"}:
        return f"{_fmt_ms(v['p50'])} / {_fmt_ms(v['p95'])}"
    return str(v)


def _fmt_ms(v: Any) -> str:
    return "—" if v is None else f"{v:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width text table (first column left-aligned, the others right-aligned).

    >>> print(table(["a", "b"], [["x", 1.5], ["yy", None]]))
    a       b
    --  -----
    x   1.500
    yy      —
    """
    cells = [[str(h) for h in header]] + [[c if isinstance(c, str) else _fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


RUN_ROWS = [
    ("cases", "cases"), ("gold_cases", "cases with gold sources"), ("recall_at_1", "recall@1"),
    ("recall_at_5", "recall@5"), ("mrr_at_10", "MRR@10"), ("retrieval_ms", "retrieval ms p50 / p95"),
    ("escalation_cases", "cases with expect_escalation"), ("escalation_precision", "escalation precision"),
    ("escalation_recall", "escalation recall"), ("escalation_accuracy", "escalation accuracy"),
    ("drafted_cases", "drafted cases"), ("must_mention_rate", "must_mention rate"),
    ("must_not_mention_violations", "must_not_mention violations"), ("citation_validity", "citation validity"),
    ("grounded_rate", "grounded rate"), ("style_pass_rate", "style pass rate"),
    ("language_match_rate", "language match rate"), ("saved_reply_rate", "saved reply rate"),
    ("first_draft_ms", "first draft ms p50 / p95"), ("first_token_ms", "first token ms p50 / p95"),
    ("draft_ms", "draft ms p50 / p95"),
]


def run_table(summary: dict[str, Any]) -> str:
    langs = sorted(summary.get("by_language", {}))
    cols = [summary] + [summary["by_language"][lang] for lang in langs]
    rows = [[label] + [c.get(key) for c in cols] for key, label in RUN_ROWS if key in summary]
    return table(["metric", "all"] + langs, rows)


def _write_json(path: str | Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _threads(value: str, flag: str = "--threads") -> list[int]:
    try:
        out = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a list of numbers; use e.g. {flag} 1,2") from None
    if not out or min(out) < 1:
        raise UserError(f"{flag} {value!r} needs thread counts of at least 1, e.g. {flag} 1,2")
    return out


# ---------------------------------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from eval.run import load_eval_set, run_eval
    from suggest.pipeline import Copilot
    from core.settings import load_settings

    today = parse_today(args.today)
    cases = load_eval_set(args.eval_set)
    settings = load_settings(args.index, fusion=args.fusion, backend=args.backend)
    copilot = Copilot.open(args.index, settings)
    summary, per_case = run_eval(cases, copilot, today, draft=not args.no_draft, progress=not args.quiet)
    if args.save:
        _write_json(args.save, {
            "kind": "eval_run", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "eval_set": str(args.eval_set), "index": str(args.index), "today": today.isoformat(),
            "draft": not args.no_draft,
            "settings": {k: getattr(settings, k) for k in ("fusion", "top_k", "embed_model", "backend", "model",
                                                           "llm_threads", "saved_reply_threshold", "dense_index")},
            "summary": summary, "cases": per_case})
    if args.json:
        print_json(summary)
    else:
        print(f"eval set {args.eval_set} on {args.index} (today {today}, fusion {settings.fusion}"
              + ("" if args.no_draft else f", backend {settings.backend}") + ")")
        print(run_table(summary))
        if summary.get("errors"):
            print(f"{summary['errors']} case(s) failed; see the per-case records (--save)")
        if args.save:
            print(f"saved summary and per-case results to {args.save}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- compare


def _compare_rows(fusions: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = ["fusion", "lang", "gold cases", "recall@1", "recall@5", "MRR@10", "p50 ms", "p95 ms"]
    rows = []
    langs = sorted({lang for s in fusions.values() for lang in s.get("by_language", {})})
    for scope in ["all"] + langs:
        for name, s in fusions.items():
            x = s if scope == "all" else s["by_language"].get(scope)
            if x is None:
                continue
            rows.append([name, scope, x["gold_cases"], x["recall_at_1"], x["recall_at_5"], x["mrr_at_10"],
                         _fmt_ms(x["retrieval_ms"]["p50"]), _fmt_ms(x["retrieval_ms"]["p95"])])
    return header, rows


def cmd_compare(args: argparse.Namespace) -> int:
    from eval.run import compare_fusions, load_eval_set
    from index.build import build_index
    from suggest.pipeline import Copilot
    from core.settings import load_settings

    today = parse_today(args.today)
    cases = load_eval_set(args.set)
    settings = load_settings(args.knowledge)
    with tempfile.TemporaryDirectory(prefix="eval-compare-") as tmp:
        index_dir = Path(args.index) if args.index else Path(tmp) / "index"
        built = build_index(args.knowledge, index_dir, settings)
        for problem in built.problems:
            print(problem, file=sys.stderr)
        copilot = Copilot.open(index_dir, settings)
        result = compare_fusions(cases, copilot, today, progress=not args.quiet)
    result.update(knowledge=str(args.knowledge), eval_set=str(args.set), today=today.isoformat(),
                  embedding_model=copilot.retriever.embedder.model_id, passages=built.passages,
                  index=str(args.index) if args.index else "(temporary)")
    if args.json:
        print_json(result)
        return EXIT_OK
    print(f"{args.set} ({len(cases)} cases) on {args.knowledge} ({built.passages} passages, "
          f"{result['embedding_model']}), today {today}; retrieval only, top 10 hits per case")
    print(table(*_compare_rows(result["fusions"])))
    findings = result["findings"]
    print("\nhybrid vs single sides: " + ("hybrid is not worse than keyword-only or dense-only on any metric, "
                                          "overall or per language" if not findings else ""))
    for f in findings:
        print(f"  - {f}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- bitext


def read_bitext(folder: Path) -> list[dict[str, str]]:
    with open(folder / BITEXT_CSV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"instruction", "intent", "response"} <= set(rows[0]):
        raise UserError(f"{folder / BITEXT_CSV} lacks the instruction/intent/response columns")
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


def bitext_eval(folder: Path, per_index: int, per_query: int, seed: int, fusions: Sequence[str],
                progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from eval.metrics import percentiles
    from index.build import build_index
    from suggest.retrieve import Retriever
    from core.settings import load_settings

    rows = read_bitext(folder)
    indexed, queries = split_bitext(rows, per_index, per_query, seed)
    settings = load_settings(None)
    today = date(2026, 1, 1)  # no validity windows in this set; any fixed day
    out: dict[str, Any] = {
        "data": str(folder), "rows": len(rows), "intents": len({r["intent"] for r in rows}),
        "indexed_replies": len(indexed), "queries": len(queries), "seed": seed,
        "split": (f"per intent, rows shuffled with seed {seed}: the first {per_index} rows' responses indexed as "
                  f"past replies (question = instruction, answer = response, tags = intent); up to {per_query} "
                  "other rows of the intent asked as held-out instructions (disjoint rows; an instruction whose "
                  "text equals an indexed one is skipped)"),
        "score": "intent@1: the top hit's intent equals the question's; intent@5: any of the top 5 does; "
                 "MRR@10 over the first same-intent hit",
        "fusions": {},
    }
    with tempfile.TemporaryDirectory(prefix="eval-bitext-") as tmp:
        kdir = Path(tmp) / "knowledge"
        kdir.mkdir()
        with open(kdir / "past_replies.jsonl", "w", encoding="utf-8") as f:
            for r in indexed:
                f.write(json.dumps({"question": r["instruction"].strip(), "answer": r["response"].strip(),
                                    "kind": "past_reply", "tags": r["intent"]}, ensure_ascii=False) + "\n")
        build_index(kdir, Path(tmp) / "index", settings)
        retriever = Retriever.open(Path(tmp) / "index", settings)
        out["embedding_model"] = retriever.embedder.model_id
        out["passages"] = len(retriever.passages)
        if queries:
            retriever.search(queries[0]["instruction"], today, k=10)  # warm-up
        for fusion in fusions:
            at1 = at5 = rr = 0.0
            ms: list[float] = []
            for q in tqdm(queries, desc=f"bitext {fusion}", unit="q", file=sys.stderr, disable=not progress):
                found = retriever.search(q["instruction"], today, k=10, fusion=fusion)
                ms.append(found.timings_ms["retrieve"])
                same = [q["intent"] in h.passage.tags for h in found.hits]
                at1 += bool(same[:1] and same[0])
                at5 += any(same[:5])
                rr += 1.0 / (same.index(True) + 1) if True in same else 0.0
            n = max(1, len(queries))
            out["fusions"][fusion] = {"intent_at_1": round(at1 / n, 3), "intent_at_5": round(at5 / n, 3),
                                      "mrr_at_10": round(rr / n, 3), "retrieval_ms": percentiles(ms)}
    return out


def cmd_bitext(args: argparse.Namespace) -> int:
    folder = Path(args.data)
    if not (folder / BITEXT_CSV).is_file():
        reason = (f"Bitext data not found at {folder} (expected {BITEXT_CSV}); it is read from ../shared/data, "
                  "never copied into the repo")
        print_json({"skipped": True, "reason": reason}) if args.json else print(f"skipped: {reason}")
        return EXIT_OK
    if args.per_intent_index < 1 or args.queries_per_intent < 1:
        raise UserError("--per-intent-index and --queries-per-intent must be at least 1")
    unknown = [f for f in args.fusions if f not in FUSIONS]
    if unknown or not args.fusions:
        raise UserError(f"--fusions {','.join(args.fusions)!r}: valid are {', '.join(FUSIONS)}")
    result = bitext_eval(folder, args.per_intent_index, args.queries_per_intent, args.seed, args.fusions,
                         progress=not args.quiet)
    if args.json:
        print_json(result)
        return EXIT_OK
    print(f"Bitext customer-support sample ({result['rows']} rows, {result['intents']} intents), English only; "
          f"embedding {result['embedding_model']}")
    print(f"split: {result['split']}")
    print(f"indexed {result['indexed_replies']} past replies ({result['passages']} passages); "
          f"asked {result['queries']} held-out instructions")
    rows = [[f, s["intent_at_1"], s["intent_at_5"], s["mrr_at_10"], _fmt_ms(s["retrieval_ms"]["p50"]),
             _fmt_ms(s["retrieval_ms"]["p95"])] for f, s in result["fusions"].items()]
    print(table(["fusion", "intent@1", "intent@5", "MRR@10", "p50 ms", "p95 ms"], rows))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- speed


def _set_threads(n: int) -> None:
    import faiss
    import torch

    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)


def _time_queries(retriever: Any, queries: Sequence[str], today: date, repeat: int = 1) -> dict[str, Any]:
    from eval.metrics import percentiles

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


def _demo_queries(set_path: Path, passages: Sequence[Any]) -> tuple[list[str], str]:
    if set_path.is_file():
        from eval.run import load_eval_set

        return [c["question"] for c in load_eval_set(set_path)], str(set_path)
    qs = [p.question or p.title for p in passages if (p.question or p.title)][:100]
    return qs, "questions/titles of the indexed passages (eval set not found)"


def _vocabulary(demo_passages: Sequence[Any], size: int, rng: Any) -> list[str]:
    """Keyword vocabulary for synthetic text: the demo index's own tokens, then common words of jieba's
    dictionary (Chinese) and frequent English shop words, so the real queries meet realistic postings."""
    import jieba

    from index.keyword import tokenize

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


def synthetic_index(folder: Path, n: int, dim: int, model_id: str, demo_passages: Sequence[Any], dense_kind: str,
                    seed: int = 0) -> dict[str, Any]:
    """Write an N-passage index with the real writer: random unit vectors (dense) and random multilingual token
    text (keyword, Zipf-distributed over a real vocabulary). Returns what was generated."""
    import numpy as np

    from index.keyword import KeywordIndex
    from index.store import FORMAT_VERSION, write_index
    from core.language import detect_language
    from core.types import Passage

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(demo_passages, 50_000, random.Random(seed))
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
    manifest = {"format_version": FORMAT_VERSION, "embedding_model": model_id, "dimension": dim,
                "dense_index": dense_kind, "chunk_max_chars": 400, "tokenizer": "jieba-search+en-light-stem",
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "synthetic": True,
                "passages": n, "files": {}}
    write_index(folder, manifest, passages, vectors, keyword, dense_kind)
    return {"passages": n, "vocabulary": len(vocab), "tokens": int(lengths.sum()),
            "generate_and_write_s": round(time.perf_counter() - t0, 1)}


def speed_eval(args: argparse.Namespace) -> dict[str, Any]:
    import faiss
    import torch

    from index.build import build_index
    from index.embed import embedder_for
    from suggest.retrieve import Retriever
    from core.settings import load_settings

    threads = _threads(args.threads)
    today = parse_today(args.today)
    knowledge = Path(args.knowledge)
    settings = load_settings(knowledge, dense_index=args.dense_index)
    embedder = embedder_for(settings)  # the shipped embedder (its passage and query token limits)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "faiss": faiss.__version__,
                    "load_average_1m_at_start": round(os.getloadavg()[0], 2)},
        "embedding_model": embedder.model_id, "fusion": settings.fusion, "top_k": settings.top_k,
        "embed_max_tokens": getattr(settings, "embed_max_tokens", None),
        "query_max_tokens": getattr(settings, "query_max_tokens", None),
        "notes": []}
    embedder.encode(["warm-up", "预热"])
    with tempfile.TemporaryDirectory(prefix="eval-speed-") as tmp:
        # (c) build throughput: full rebuilds of the demo shop, model already loaded
        build: dict[str, Any] = {"knowledge": str(knowledge)}
        demo_index = Path(args.index) if args.index else None
        for t in threads:
            _set_threads(t)
            target = Path(tmp) / f"build-{t}"
            s = build_index(knowledge, target, settings, embedder=embedder)
            build[f"threads_{t}"] = {
                "passages": s.passages, "seconds": round(s.seconds, 2),
                "passages_per_s": round(s.passages / s.seconds, 1) if s.seconds else None,
                "embed_passages_per_s": round(s.passages / s.embed_seconds, 1) if s.embed_seconds else None}
            demo_index = demo_index or target
        out["build"] = build
        # (a) demo index retrieval, full search including the query embedding
        retriever = Retriever.open(demo_index, settings, embedder)
        queries, qsource = _demo_queries(Path(args.set), retriever.passages)
        demo: dict[str, Any] = {"index": str(args.index or "(built above)"), "passages": len(retriever.passages),
                                "queries_from": qsource}
        for t in threads:
            _set_threads(t)
            demo[f"threads_{t}"] = _time_queries(retriever, queries, today, repeat=args.repeat)
        out["demo_retrieval"] = demo
        # (b) synthetic N-passage index, real writer, real Retriever.search, real query embedder
        if args.passages > 0:
            syn_dir = Path(tmp) / "synthetic"
            info = synthetic_index(syn_dir, args.passages, embedder.dim, embedder.model_id, retriever.passages,
                                   args.dense_index)
            t0 = time.perf_counter()
            syn = Retriever.open(syn_dir, settings, embedder)
            info["load_s"] = round(time.perf_counter() - t0, 1)
            info["dense_index"] = args.dense_index
            info["queries_from"] = qsource
            for t in threads:
                _set_threads(t)
                info[f"threads_{t}"] = _time_queries(syn, queries, today, repeat=args.repeat)
            out["synthetic_retrieval"] = info
            out["notes"].append(
                f"synthetic index: {args.passages} passages of random unit vectors (dense side) and random "
                "multilingual token text (keyword side: Zipf draws over a vocabulary of the demo shop's tokens, given the "
                "highest frequencies so the real queries meet long posting lists, then common words of jieba's "
                "dictionary), written with the real index writer; timed with the real Retriever.search and "
                f"the real query embedder ({embedder.model_id}); hits are meaningless, only the time counts")
    _set_threads(settings.torch_threads)
    out["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    out["notes"].append("thread counts set at runtime with torch.set_num_threads and faiss.omp_set_num_threads; "
                        f"the shipped defaults are torch_threads={settings.torch_threads}, "
                        f"faiss_threads={settings.faiss_threads}")
    return out


def cmd_speed(args: argparse.Namespace) -> int:
    if not Path(args.knowledge).is_dir():
        raise UserError(f"knowledge folder {args.knowledge} not found; pass --knowledge DIR")
    result = speed_eval(args)
    if args.json:
        print_json(result)
        return EXIT_OK
    threads = _threads(args.threads)
    m = result["machine"]
    print(f"machine: {m['cpus']} CPUs, torch {m['torch']}, faiss {m['faiss']}, load average (1 min) "
          f"{m['load_average_1m_at_start']} at start, {m['load_average_1m_at_end']} at end; embedding "
          f"{result['embedding_model']} (passages cut at {result['embed_max_tokens']} tokens, queries at "
          f"{result['query_max_tokens']}); fusion {result['fusion']}, top {result['top_k']}")
    rows = []
    for label, key in (("demo index", "demo_retrieval"), ("synthetic index", "synthetic_retrieval")):
        if key not in result:
            continue
        r = result[key]
        for t in threads:
            x = r[f"threads_{t}"]
            parts = ", ".join(f"{k} {v:.1f}" for k, v in x["parts_p50"].items() if v is not None)
            rows.append([f"{label} ({r['passages']} passages)", t, x["queries"], _fmt_ms(x["p50"]),
                         _fmt_ms(x["p95"]), parts])
    print("\nretrieval, full search including the query embedding (ms):")
    print(table(["index", "threads", "queries", "p50", "p95", "p50 parts"], rows))
    b = result["build"]
    print(f"\nfull rebuild of {b['knowledge']} (model loaded once beforehand):")
    print(table(["threads", "passages", "seconds", "passages/s", "embed passages/s"],
                [[t, b[f"threads_{t}"]["passages"], b[f"threads_{t}"]["seconds"], b[f"threads_{t}"]["passages_per_s"],
                  b[f"threads_{t}"]["embed_passages_per_s"]] for t in threads]))
    if "synthetic_retrieval" in result:
        s = result["synthetic_retrieval"]
        print(f"\nsynthetic index: {s['passages']} passages, vocabulary {s['vocabulary']}, {s['tokens']} tokens, "
              f"generated and written in {s['generate_and_write_s']} s, loaded in {s['load_s']} s")
    for note in result["notes"]:
        print(f"note: {note}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- bench, pii


def cmd_bench(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends:
        raise UserError("--backends needs at least one backend, e.g. --backends llama.cpp")
    threads = _threads(args.threads)
    if args.cases < 1:
        raise UserError("--cases must be at least 1")
    try:
        from eval.bench import run_bench
    except ModuleNotFoundError as e:
        if e.name not in ("eval.bench",):
            raise
        raise UserError("the generation benchmark (eval/bench.py) is not installed in this checkout") from None
    from eval.run import load_eval_set
    from core.settings import load_settings

    settings = load_settings(args.index)
    cases = load_eval_set(args.set)[: args.cases] if Path(args.set).is_file() else args.cases
    result = run_bench(args.index, backends, threads, cases, settings,
                       progress=lambda line: print(line, file=sys.stderr))
    if args.json:
        print_json(result)
    elif isinstance(result, dict) and isinstance(result.get("table"), str):
        print(result["table"])
    else:
        print_json(result)
    return EXIT_OK


def cmd_pii(args: argparse.Namespace) -> int:
    """Delegates to eval.pii_synth (its own table and JSON)."""
    if args.n < 1:
        raise UserError("--n must be at least 1")
    try:
        from eval import pii_synth
    except ImportError as e:
        if getattr(e, "name", None) not in ("eval.pii_synth",):
            raise
        raise UserError("the personal-data benchmark (eval/pii_synth.py) is not installed in this checkout") from None
    return pii_synth.main(["--n", str(args.n), "--seed", str(args.seed)] + (["--json"] if args.json else []))


def cmd_saved(args: argparse.Namespace) -> int:
    """Coverage and precision of the saved-reply fast path per threshold (eval.calibrate)."""
    from eval.calibrate import best_saved_replies, sweep
    from eval.run import load_eval_set
    from suggest.pipeline import Copilot

    cases = load_eval_set(args.set)
    copilot = Copilot.open(args.index)
    records = best_saved_replies(cases, copilot, parse_today(args.today))
    result = {"cases": len(records), "current_threshold": copilot.settings.saved_reply_threshold,
              "overall": sweep(records),
              "by_language": {lang: sweep([r for r in records if r["lang"] == lang]) for lang in ("en", "zh")}}
    if args.json:
        print_json(result)
        return EXIT_OK
    print(f"saved-reply fast path on {args.set}: {len(records)} non-escalation cases "
          f"(current threshold {result['current_threshold']})")
    print(f"{'threshold':>9}  {'scope':<5} {'offered':>7} {'coverage':>8} {'precision':>9}")
    for scope, rows in [("all", result["overall"]), *result["by_language"].items()]:
        for row in rows:
            precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
            print(f"{row['threshold']:>9.2f}  {scope:<5} {row['offered']:>7} {row['coverage']:>8.3f} {precision:>9}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(prog="python -m eval", epilog=EPILOG, formatter_class=fmt,
                                 description="Benchmark the copilot: retrieval, drafts, checks and speed.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="{run,compare,bitext,speed,bench,saved,pii}")

    r = sub.add_parser("run", help="score an eval set (DESIGN §4 metrics)", epilog=EPILOG, formatter_class=fmt,
                       description="Answer every case of EVAL_SET with the copilot and print the metrics.")
    r.add_argument("eval_set", metavar="EVAL_SET.jsonl", help="one JSON case a line (id, question, lang, "
                   "gold_sources, must_mention, must_not_mention, expect_escalation, ...)")
    r.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder built by python -m index build")
    r.add_argument("--json", action="store_true", help="print one JSON object (DESIGN §4 keys)")
    r.add_argument("--no-draft", action="store_true", help="retrieval and escalation only (no generator)")
    r.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    r.add_argument("--fusion", choices=FUSIONS, help="retrieval fusion (default from settings: rrf)")
    r.add_argument("--backend", help="generator backend for drafts: llama.cpp, transformers, openai, fake")
    r.add_argument("--save", metavar="RUN.json", help="also write the summary and per-case results here "
                   "(the app's evaluation view compares saved runs)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="keyword vs dense vs hybrid retrieval on one knowledge folder",
                       epilog=EPILOG, formatter_class=fmt,
                       description="Build one index and score retrieval for each fusion (keyword, dense, rrf, "
                                   "weighted), overall and per language.")
    c.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR",
                   help="knowledge folder (default: the demo shop)")
    c.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="eval set (default: the demo set)")
    c.add_argument("--index", metavar="INDEX_DIR", help="build/update the index here and keep it "
                   "(default: a temporary folder)")
    c.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=cmd_compare)

    b = sub.add_parser("bitext", help="intent retrieval on the public English Bitext set (from ../shared/data)",
                       epilog=EPILOG, formatter_class=fmt,
                       description="Index part of each intent's responses as past replies, ask held-out "
                                   "instructions, score whether the top hit (and any of the top 5) has the same "
                                   "intent. Skipped (exit 0) when the data folder is absent.")
    b.add_argument("--data", default=str(DEFAULT_BITEXT), metavar="DIR",
                   help=f"folder holding {BITEXT_CSV} (default: ../shared/data/bitext-2023-08)")
    b.add_argument("--per-intent-index", type=int, default=20, metavar="N", help="rows indexed per intent (20)")
    b.add_argument("--queries-per-intent", type=int, default=20, metavar="N", help="held-out questions per intent (20)")
    b.add_argument("--seed", type=int, default=0, help="shuffle seed of the split (0)")
    b.add_argument("--fusions", type=lambda v: [f for f in v.split(",") if f], default=["keyword", "dense", "rrf",
                   "weighted"], metavar="LIST", help="fusions to score (keyword,dense,rrf,weighted)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_bitext)

    s = sub.add_parser("speed", help="retrieval and index-build speed, 1 vs 2 threads", epilog=EPILOG,
                       formatter_class=fmt,
                       description="(a) retrieval p50/p95 on the demo index including the query embedding; (b) the "
                                   "same on a synthetic N-passage index; (c) full-rebuild throughput of the demo "
                                   "shop in passages/s; each for every thread count.")
    s.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR", help="knowledge folder to build")
    s.add_argument("--index", metavar="INDEX_DIR", help="time retrieval on this index (default: the one built here)")
    s.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="queries (default: the demo set)")
    s.add_argument("--passages", type=int, default=100_000, metavar="N",
                   help="size of the synthetic index (default 100000; 0 skips it)")
    s.add_argument("--dense-index", choices=("flat", "hnsw"), default="flat", help="FAISS index kind (flat)")
    s.add_argument("--threads", default="1,2", metavar="LIST", help="thread counts to compare (1,2)")
    s.add_argument("--repeat", type=int, default=2, metavar="N", help="passes over the queries per setting (2)")
    s.add_argument("--today", metavar="YYYY-MM-DD", help="day for validity windows (default: today)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_speed)

    g = sub.add_parser("bench", help="generation speed per backend and thread count", epilog=EPILOG,
                       formatter_class=fmt, description="Time to first token, tokens/s, draft time, peak memory.")
    g.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    g.add_argument("--backends", default="llama.cpp", metavar="LIST", help="e.g. llama.cpp,transformers")
    g.add_argument("--threads", default="1,2", metavar="LIST", help="thread counts (1,2)")
    g.add_argument("--cases", type=int, default=10, metavar="N", help="messages per setting (10)")
    g.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="where the messages come from")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=cmd_bench)

    v = sub.add_parser("saved", help="calibrate the saved-reply threshold: coverage and precision",
                       epilog=EPILOG, formatter_class=fmt)
    v.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    v.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="eval set (default: the demo set)")
    v.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=cmd_saved)

    p = sub.add_parser("pii", help="personal-data masking rate on a synthetic set", epilog=EPILOG,
                       formatter_class=fmt)
    p.add_argument("--n", type=int, default=500, help="synthetic messages (500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_pii)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(run_main(main))
