"""`python -m eval …` end to end with the fake embedder (and the fake generator): shapes, values, bad input."""
from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.errors import UserError
from eval.__main__ import main as eval_main
from eval.commands.bench import BenchOptions
from eval.commands.bitext import BitextOptions
from eval.commands.compare import CompareOptions
from eval.commands.pii import PiiOptions
from eval.commands.run import RunOptions
from eval.commands.saved import SavedOptions
from eval.commands.speed import SpeedOptions, SpeedReport
from eval.report import Skipped, parse_threads, print_report
from eval.run import hybrid_findings, load_eval_set
from index.build import build_index

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COPILOT_EMBED_MODEL": "hash:256", "PYTHONPATH": str(REPO), "TQDM_DISABLE": "1"}

CASES = [
    {"id": "zh-fee", "question": "满多少包邮？运费多少", "gold_sources": ["policies/shipping.zh.md"],
     "must_mention": ["99"], "expect_escalation": False},
    {"id": "en-kettle", "question": "What is the capacity and power of the electric kettle?",
     "gold_sources": ["products/kettle.en.md"], "must_mention": ["1.7"]},
    {"id": "en-return", "question": "Can unused items be returned within 7 days?",
     "gold_sources": ["policies/returns.en.md"]},
    {"id": "zh-11", "question": "双11快递会延迟吗", "gold_sources": ["faq/faq.csv"], "must_not_mention": ["春节"]},
    {"id": "zh-legal", "question": "再不退款我就去12315投诉，还要起诉你们！", "expect_escalation": True},
]


def write_set(path: Path, cases=CASES) -> Path:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    return path


def run_cli(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "eval", *args], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=300)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture
def index_dir(kb, tmp_path, settings, fake_embedder) -> Path:
    out = tmp_path / "index"
    build_index(kb, out, settings, embedder=fake_embedder)
    return out


@pytest.fixture
def eval_set(tmp_path) -> Path:
    return write_set(tmp_path / "set.jsonl")


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for f in fragments:
        assert f in lines[0]


# ------------------------------------------------------------------------------------------------ eval run


def test_run_no_draft_json(index_dir, eval_set):
    proc = run_cli("run", str(eval_set), "--index", str(index_dir), "--no-draft", "--json", "--today", "2026-11-23")
    s = json.loads(proc.stdout)
    for key in ("cases", "recall_at_1", "recall_at_5", "mrr_at_10", "retrieval_ms", "by_language"):
        assert key in s
    assert s["cases"] == 5 and s["gold_cases"] == 4
    assert s["recall_at_5"] == 1.0 and 0 < s["mrr_at_10"] <= 1.0 and s["recall_at_1"] <= s["recall_at_5"]
    assert set(s["retrieval_ms"]) == {"p50", "p95"} and s["retrieval_ms"]["p50"] > 0
    assert set(s["by_language"]) == {"zh", "en"}
    assert s["by_language"]["zh"]["cases"] == 3 and s["by_language"]["en"]["cases"] == 2
    assert s["by_language"]["en"]["gold_cases"] == 2
    assert s["escalation_cases"] == 2 and s["escalation_recall"] == 1.0
    assert "must_mention_rate" not in s  # retrieval only


def test_run_table_and_save(index_dir, eval_set, tmp_path):
    saved = tmp_path / "runs" / "run.json"
    proc = run_cli("run", str(eval_set), "--index", str(index_dir), "--no-draft", "--today", "2026-11-23",
                   "--save", str(saved), "--fusion", "keyword")
    assert "recall@5" in proc.stdout and "MRR@10" in proc.stdout and "fusion keyword" in proc.stdout
    run = json.loads(saved.read_text(encoding="utf-8"))
    assert run["kind"] == "eval_run" and run["today"] == "2026-11-23" and run["settings"]["fusion"] == "keyword"
    assert run["summary"]["cases"] == 5 and len(run["cases"]) == 5
    first = run["cases"][0]
    assert first["id"] == "zh-fee" and first["lang"] == "zh" and first["hits"] and first["scores"]["gold_rank"] >= 1
    assert "retrieve" in first["timings_ms"]


def test_run_with_fake_drafts(index_dir, eval_set):
    proc = run_cli("run", str(eval_set), "--index", str(index_dir), "--json", "--today", "2026-11-23",
                   "--backend", "fake")
    s = json.loads(proc.stdout)
    for key in ("must_mention_rate", "must_not_mention_violations", "citation_validity", "grounded_rate",
                "style_pass_rate", "escalation_precision", "escalation_recall", "escalation_accuracy",
                "language_match_rate", "saved_reply_rate", "first_token_ms", "draft_ms", "first_draft_ms"):
        assert key in s and key in s["by_language"]["zh"] and key in s["by_language"]["en"]
    assert s["drafted_cases"] == 5
    assert isinstance(s["must_not_mention_violations"], int)
    assert set(s["first_draft_ms"]) == {"p50", "p95"}


@pytest.mark.parametrize("content, fragments", [
    ('{"question": "ok"}\n{"question": "broken"\n', [":2:", "invalid JSON"]),
    ('{"question": "ok"}\n\n{"id": "x", "gold_sources": []}\n', [":3:", "question"]),
    ('{"question": "   "}\n', [":1:", "question"]),
    ('["not", "an", "object"]\n', [":1:", "JSON object"]),
    ('{"question": "q", "gold_sources": "a.md"}\n', [":1:", "gold_sources"]),
    ('{"question": "q", "expect_escalation": "yes"}\n', [":1:", "expect_escalation"]),
    ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n', [":2:", "repeats"]),
    ("", ["empty"]),
    ("\n\n", ["empty"]),
])
def test_run_bad_eval_set(index_dir, tmp_path, content, fragments):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    proc = run_cli("run", str(bad), "--index", str(index_dir), "--no-draft", "--json", check_rc=None)
    assert_one_line_error(proc, "bad.jsonl", *fragments)
    assert proc.stdout == ""


@pytest.mark.parametrize("args, fragment", [
    (["run", "{tmp}/missing.jsonl", "--index", "{index}"], "not found"),
    (["run", "{set}", "--index", "{tmp}/no-index", "--no-draft"], "no index"),
    (["run", "{set}", "--index", "{index}", "--no-draft", "--today", "23.11.2026"], "--today"),
    (["speed", "--knowledge", "{tmp}/nothing"], "knowledge folder"),
    (["bench", "--index", "{index}", "--threads", "one"], "--threads"),
])
def test_bad_arguments_give_one_line(index_dir, eval_set, tmp_path, args, fragment):
    fill = {"tmp": str(tmp_path), "index": str(index_dir), "set": str(eval_set)}
    proc = run_cli(*[a.format(**fill) for a in args], check_rc=None)
    assert_one_line_error(proc, fragment)


def test_help_teaches_with_examples():
    proc = run_cli("--help")
    assert "python -m eval run eval/sets/demo.jsonl --index" in proc.stdout
    assert "python -m eval compare --knowledge data/demo-shop" in proc.stdout
    for sub in ("run", "compare", "bitext", "speed", "bench", "pii"):
        assert run_cli(sub, "--help").stdout.startswith("usage: python -m eval " + sub)


def test_load_eval_set_defaults(eval_set):
    cases = load_eval_set(eval_set)
    assert [c["lang"] for c in cases] == ["zh", "en", "en", "zh", "zh"]  # detected when missing
    assert cases[4]["gold_sources"] == [] and cases[4]["must_mention"] == []
    assert cases[0]["id"] == "zh-fee"


def test_load_eval_set_keeps_given_lang_and_numbers_ids(tmp_path):
    path = write_set(tmp_path / "s.jsonl", [{"question": "hello there", "lang": "zh"}, {"question": "运费"}])
    cases = load_eval_set(path)
    assert [(c["id"], c["lang"]) for c in cases] == [("line-1", "zh"), ("line-2", "zh")]


def test_load_eval_set_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_eval_set(tmp_path / "nope.jsonl")


def test_hybrid_findings_names_every_loss():
    res = {"keyword": {"recall_at_1": 0.5, "recall_at_5": 0.9, "mrr_at_10": 0.6,
                       "by_language": {"zh": {"recall_at_1": 0.6, "recall_at_5": 1.0, "mrr_at_10": 0.7}}},
           "dense": {"recall_at_1": 0.4, "recall_at_5": 0.7, "mrr_at_10": 0.5,
                     "by_language": {"zh": {"recall_at_1": 0.1, "recall_at_5": 0.2, "mrr_at_10": 0.1}}},
           "rrf": {"recall_at_1": 0.6, "recall_at_5": 0.95, "mrr_at_10": 0.65,
                   "by_language": {"zh": {"recall_at_1": 0.5, "recall_at_5": 1.0, "mrr_at_10": 0.7}}}}
    assert hybrid_findings(res) == ["rrf is worse than keyword on recall@1 (zh): 0.500 vs 0.600"]


# ------------------------------------------------------------------------------------------------ compare


def test_compare_json(kb, eval_set):
    proc = run_cli("compare", "--knowledge", str(kb), "--set", str(eval_set), "--today", "2026-11-23", "--json")
    out = json.loads(proc.stdout)
    assert list(out["fusions"]) == ["keyword", "dense", "rrf", "weighted"]
    for s in out["fusions"].values():
        assert {"recall_at_1", "recall_at_5", "mrr_at_10", "retrieval_ms", "by_language"} <= set(s)
        assert set(s["by_language"]) == {"zh", "en"}
    assert isinstance(out["findings"], list) and out["passages"] > 0


def test_compare_table_keeps_index(kb, eval_set, tmp_path):
    proc = run_cli("compare", "--knowledge", str(kb), "--set", str(eval_set), "--index", str(tmp_path / "kept"))
    assert "recall@5" in proc.stdout and "weighted" in proc.stdout and "hybrid vs single sides" in proc.stdout
    assert (tmp_path / "kept" / "manifest.json").is_file()


# ------------------------------------------------------------------------------------------------ bitext


def test_bitext_skips_cleanly_when_data_is_absent(tmp_path):
    proc = run_cli("bitext", "--data", str(tmp_path / "missing"))
    assert proc.stdout.startswith("skipped:") and "Traceback" not in proc.stderr
    out = json.loads(run_cli("bitext", "--data", str(tmp_path / "missing"), "--json").stdout)
    assert out["skipped"] is True and "missing" in out["reason"]


def test_bitext_on_a_tiny_sample(tmp_path):
    folder = tmp_path / "bitext"
    folder.mkdir()
    topics = {"cancel_order": "cancel my order {n}", "track_refund": "where is refund number {n}",
              "change_address": "change shipping address to street {n}"}
    with open(folder / "Bitext_Sample_Customer_Support_Training_Dataset.csv", "w", newline="",
              encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["instruction", "intent", "response", "category"])
        w.writeheader()
        for intent, text in topics.items():
            for n in range(6):
                w.writerow({"instruction": text.format(n=n), "intent": intent, "category": "X",
                            "response": f"Sure, {intent.replace('_', ' ')} on {{{{Website Name}}}}."})
    out = json.loads(run_cli("bitext", "--data", str(folder), "--per-intent-index", "3",
                             "--queries-per-intent", "2", "--json").stdout)
    assert out["indexed_replies"] == 9 and out["queries"] == 6 and "seed 0" in out["split"]
    assert set(out["fusions"]) == {"keyword", "dense", "rrf", "weighted"}
    assert out["fusions"]["keyword"]["intent_at_1"] == 1.0
    for s in out["fusions"].values():
        assert 0 <= s["intent_at_1"] <= s["intent_at_5"] <= 1


# ------------------------------------------------------------------------------------------------ speed


def test_speed_small_synthetic(kb, eval_set):
    out = json.loads(run_cli("speed", "--knowledge", str(kb), "--set", str(eval_set), "--passages", "300",
                             "--threads", "1", "--repeat", "1", "--json").stdout)
    assert out["build"]["threads_1"]["passages"] > 0 and out["build"]["threads_1"]["passages_per_s"] > 0
    assert out["demo_retrieval"]["threads_1"]["queries"] == 5 and out["demo_retrieval"]["threads_1"]["p50"] > 0
    syn = out["synthetic_retrieval"]
    assert syn["passages"] == 300 and syn["threads_1"]["p50"] > 0
    assert any("random unit vectors" in n for n in out["notes"])


# ------------------------------------------------------------------------------------------------ real model


@pytest.mark.slow
def test_run_no_draft_with_real_embedder_on_demo_shop(tmp_path):
    demo, demo_set = REPO / "data" / "demo-shop", REPO / "eval" / "sets" / "demo.jsonl"
    if not (demo.is_dir() and demo_set.is_file()):
        pytest.skip("the demo shop or its eval set is not in this checkout")
    env = {k: v for k, v in ENV.items() if k != "COPILOT_EMBED_MODEL"}
    subprocess.run([sys.executable, "-m", "index", "build", str(demo), "--index", str(tmp_path / "idx")],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    proc = subprocess.run([sys.executable, "-m", "eval", "run", str(demo_set), "--index", str(tmp_path / "idx"),
                           "--no-draft", "--json", "--today", "2026-11-23"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["cases"] >= 60 and set(s["by_language"]) >= {"zh", "en"}
    assert s["recall_at_5"] is not None and s["recall_at_5"] > 0.5


def test_pii_delegates_to_the_synthetic_set():
    pytest.importorskip("eval.pii_synth")
    out = json.loads(run_cli("pii", "--n", "20", "--json").stdout)
    assert out["samples"] == 20 and 0.0 <= out["rate"] <= 1.0


def test_doctests_of_the_eval_modules():
    import doctest

    for name in ("eval.run", "eval.report", "eval.commands.run", "eval.commands.bitext"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0


def test_bench_is_wired_to_eval_bench(index_dir, eval_set):
    pytest.importorskip("eval.bench")
    out = json.loads(run_cli("bench", "--index", str(index_dir), "--backends", "fake", "--threads", "1",
                             "--cases", "2", "--set", str(eval_set), "--json").stdout)
    assert out["cases"] == 2 and out["runs"][0]["backend"] == "fake"
    proc = run_cli("bench", "--index", str(index_dir), "--backends", "nope", "--set", str(eval_set), check_rc=None)
    assert_one_line_error(proc, "unknown backend")


# ------------------------------------------------------------------------------------------------ options, reports

STUB = Skipped("stub")


@pytest.mark.parametrize("argv, module, func, expected", [
    (["run", "s.jsonl", "--index", "idx", "--no-draft", "--today", "2026-11-23", "-q", "--fusion", "keyword"],
     "eval.commands.run", "run_set", RunOptions(eval_set="s.jsonl", index="idx", today=date(2026, 11, 23),
                                                draft=False, fusion="keyword", progress=False)),
    (["compare", "--knowledge", "kb", "--set", "s.jsonl", "--today", "2026-11-23", "--index", "keep"],
     "eval.commands.compare", "run_compare", CompareOptions(knowledge="kb", eval_set="s.jsonl",
                                                            today=date(2026, 11, 23), index="keep")),
    (["bitext", "--data", "bt", "--fusions", "rrf,keyword", "--seed", "3"], "eval.commands.bitext", "run_bitext",
     BitextOptions(csv=Path("bt") / "Bitext_Sample_Customer_Support_Training_Dataset.csv", per_intent_index=20,
                   queries_per_intent=20, seed=3, fusions=("rrf", "keyword"))),
    (["speed", "--knowledge", "kb", "--set", "s.jsonl", "--threads", "1,2", "--passages", "0", "--today",
      "2026-11-23"], "eval.commands.speed", "run_speed",
     SpeedOptions(knowledge="kb", eval_set="s.jsonl", passages=0, dense_index="flat", threads=(1, 2), repeat=2,
                  today=date(2026, 11, 23))),
    (["bench", "--index", "idx", "--backends", "fake, openai", "--threads", "2", "--set", "s.jsonl"],
     "eval.commands.bench", "run_bench", BenchOptions(index="idx", backends=("fake", "openai"), threads=(2,),
                                                      cases=10, eval_set="s.jsonl")),
    (["saved", "--index", "idx", "--set", "s.jsonl", "--today", "2026-11-23"], "eval.commands.saved", "run_saved",
     SavedOptions(index="idx", eval_set="s.jsonl", today=date(2026, 11, 23))),
    (["pii", "--n", "7"], "eval.commands.pii", "run_pii", PiiOptions(n=7, seed=0)),
])
def test_the_command_line_builds_typed_options(monkeypatch, capsys, argv, module, func, expected):
    seen = []
    monkeypatch.setattr(importlib.import_module(module), func, lambda options, *_: seen.append(options) or STUB)
    eval_main(argv)
    assert seen == [expected]


@pytest.mark.parametrize("value, expected", [("1,2", (1, 2)), ("4,", (4,)), (" 2 , 1", (2, 1)), ("one", None),
                                             ("", None), ("0,1", None)])
def test_parse_threads(value, expected):
    if expected is None:
        with pytest.raises(UserError, match="--threads"):
            parse_threads(value)
    else:
        assert parse_threads(value) == expected


def test_reports_print_as_json_or_text(capsys):
    timing = {"queries": 2, "p50": 1.0, "p95": 2.0, "parts_p50": {"embed": 0.5, "dense": None}}
    speed = SpeedReport(machine={"cpus": 2, "torch": "2", "faiss": "1", "load_average_1m_at_start": 0.1,
                                 "load_average_1m_at_end": 0.2}, embedding_model="hash:256", fusion="rrf", top_k=5,
                        embed_max_tokens=32, query_max_tokens=128, notes=["n1"],
                        build={"knowledge": "kb", "threads_1": {"passages": 9, "seconds": 0.5, "passages_per_s": 18.0,
                                                                "embed_passages_per_s": None}},
                        demo_retrieval={"passages": 9, "threads_1": timing}, synthetic_retrieval=None, threads=(1,))
    assert list(speed.to_dict()) == ["machine", "embedding_model", "fusion", "top_k", "embed_max_tokens",
                                     "query_max_tokens", "notes", "build", "demo_retrieval"]
    text = speed.text()
    assert "demo index (9 passages)        1        2  1.0  2.0  embed 0.5" in text
    assert "synthetic" not in text and text.endswith("note: n1")
    assert print_report(STUB, as_json=True) == 0 and json.loads(capsys.readouterr().out) == {"skipped": True,
                                                                                        "reason": "stub"}
    print_report(STUB, as_json=False)
    assert capsys.readouterr().out == "skipped: stub\n"
