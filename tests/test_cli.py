"""The command-line contracts of DESIGN §4: shapes, exit codes and one-line errors (fake embedder and generator)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.__main__ import main as index_main
from suggest.__main__ import main as suggest_main
from core.cli import run_main
from core.errors import GeneratorError, KnowledgeError, PromptError, UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setenv("COPILOT_EMBED_MODEL", "hash:256")
    monkeypatch.setenv("COPILOT_BACKEND", "fake")


@pytest.fixture
def built(kb, tmp_path):
    out = tmp_path / "idx"
    assert run_main(index_main, ["build", str(kb), "--index", str(out)]) == 0
    return out


def run(main, argv, capsys):
    code = run_main(main, argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("error", [UserError("bad --top-k"), KnowledgeError("faq.csv:3: bad date"),
                                   PromptError("prompts/reply.en.txt uses {tone}"),
                                   GeneratorError("llama.cpp: failed\n  at decode")])
def test_every_project_error_is_one_line_and_exit_2(error, capsys):
    def main(argv):
        raise error

    code, out, err = run(main, [], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")
    assert err.strip().endswith(str(error).splitlines()[-1].strip())


def test_build_json_summary(kb, tmp_path, capsys):
    code, out, err = run(index_main, ["build", str(kb), "--index", str(tmp_path / "i"), "--json"], capsys)
    summary = json.loads(out)
    assert code == 0 and err == ""
    assert {k: summary[k] for k in ("files", "added", "removed", "reused")} == {
        "files": 5, "added": summary["passages"], "removed": 0, "reused": 0}
    assert summary["seconds"] > 0


@pytest.mark.parametrize("make, code_expected, message", [
    (lambda kb: kb / "nope", 2, "does not exist"),
    (lambda kb: (kb / "empty").mkdir() or kb / "empty", 2, "has no .md, .txt, .csv or .jsonl files"),
])
def test_build_bad_folder_one_line_error(kb, tmp_path, capsys, make, code_expected, message):
    code, out, err = run(index_main, ["build", str(make(kb)), "--index", str(tmp_path / "i")], capsys)
    assert code == code_expected and message in err and len(err.strip().splitlines()) == 1
    assert err.startswith("error: ") and "Traceback" not in err


def test_build_with_bad_files_indexes_the_rest_and_exits_1(kb, tmp_path, capsys):
    (kb / "faq" / "broken.csv").write_text("title,body\nx,y\n", encoding="utf-8")
    (kb / "faq" / "dates.csv").write_text("question,answer,valid_until\nQ?,A.,2026-02-30\nR?,B.,\n",
                                          encoding="utf-8")
    (kb / "manual.pdf").write_bytes(b"%PDF-1.4")
    code, out, err = run(index_main, ["build", str(kb), "--index", str(tmp_path / "i"), "--json"], capsys)
    assert code == 1
    assert err.splitlines() == [
        "warning: manual.pdf: unsupported file type '.pdf' skipped (supported: .md, .markdown, .txt, .csv, .jsonl)",
        "error: faq/broken.csv: needs a 'question' column and an 'answer' (or 'reply') column, found: body, title",
        "error: faq/dates.csv:2: bad date '2026-02-30' in valid_until (use YYYY-MM-DD); row skipped",
    ]
    summary = json.loads(out)
    assert summary["files"] == 7 and len(summary["errors"]) == 2
    code, out, _ = run(suggest_main, ["R?", "--index", str(tmp_path / "i"), "--json", "--no-draft"], capsys)
    assert any(h["source"] == "faq/dates.csv" for h in json.loads(out)["hits"])  # the good row was indexed


def test_suggest_no_draft_json_shape(built, capsys):
    code, out, err = run(suggest_main, ["运费多少？满多少包邮", "--index", str(built), "--json", "--no-draft",
                                        "--today", "2026-11-23"], capsys)
    assert code == 0
    sug = json.loads(out)
    assert {"language", "hits", "drafts", "escalate", "timings_ms"} <= sug.keys()
    assert sug["language"] == "zh" and sug["drafts"] == [] and sug["escalate"] is False
    assert set(sug["hits"][0]) >= {"id", "source", "title", "text", "score", "kind"}
    assert sug["hits"][0]["source"] == "policies/shipping.zh.md"
    assert "retrieve" in sug["timings_ms"]


def test_suggest_with_fake_draft_has_valid_citations(built, capsys, monkeypatch):
    code, out, _ = run(suggest_main, ["How much is shipping?", "--index", str(built), "--json"], capsys)
    sug = json.loads(out)
    hit_ids = {h["id"] for h in sug["hits"]}
    model = [d for d in sug["drafts"] if d["origin"] == "model"]
    assert code == 0 and model and model[0]["text"]
    assert set(model[0]["citations"]) <= hit_ids
    assert {"first_token", "total", "retrieve"} <= sug["timings_ms"].keys()


@pytest.mark.parametrize("argv, message", [
    (["", "--json"], "the message is empty"),
    (["x" * 2001], "more than the limit of 2000"),
    (["hi", "--today", "2026-13-01"], "--today '2026-13-01' is not a date"),
    (["hi", "--backend", "magic"], "unknown backend 'magic'; valid: fake, llama.cpp, openai, transformers"),
])
def test_suggest_bad_input(built, capsys, argv, message):
    code, out, err = run(suggest_main, [argv[0], "--index", str(built), *argv[1:]], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_suggest_missing_index_and_wrong_model(built, tmp_path, capsys, monkeypatch):
    code, _, err = run(suggest_main, ["hi", "--index", str(tmp_path / "none")], capsys)
    assert code == 2 and "no index at" in err
    monkeypatch.setenv("COPILOT_EMBED_MODEL", "hash:128")
    code, _, err = run(suggest_main, ["hi", "--index", str(built)], capsys)
    assert code == 2 and "built with embedding model 'hash:256' but the settings use 'hash:128'" in err


def test_check_command_json(built, capsys):
    code, out, _ = run(suggest_main, ["check", "--message", "我要起诉你们！", "--draft", "保证明天到，全额赔偿500元！",
                                      "--index", str(built), "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and set(result) >= {"checks", "escalate"}
    assert result["escalate"] is True
    names = {c["name"] for c in result["checks"]}
    assert {"unsupported_fact", "unsupported_promise"} <= names
    assert all(set(c) >= {"name", "severity", "message"} for c in result["checks"])


def test_real_entry_points_and_help(built):
    env = {**os.environ, "COPILOT_EMBED_MODEL": "hash:256", "COPILOT_BACKEND": "fake"}
    for module in ("index", "suggest", "eval"):
        r = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0 and "examples:" in r.stdout, module
    r = subprocess.run([sys.executable, "-m", "suggest", "Do you offer gift wrapping?", "--index", str(built),
                        "--json", "--no-draft"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout)["hits"][0]["source"] == "faq/faq.csv"
    r = subprocess.run([sys.executable, "-m", "suggest", "", "--index", str(built)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: the message is empty") and "Traceback" not in r.stderr
