"""The app's service and handlers without a server: first build, API shape, re-index that fails or is cancelled,
promotion picked up by a background re-index, a crashing backend, and the command line."""
from __future__ import annotations

import json
from datetime import date

import pytest

import app
from app_parts.agent_view import agent_handlers
from app_parts.service import CopilotService, ReindexCancelled
from index.embed import HashEmbedder
from suggest.backends import FakeGenerator
from core.errors import GeneratorError, UserError
from core.settings import Settings

TODAY = date(2026, 11, 20)


def zh_or_en(messages):
    text = messages[-1]["content"]
    return "您好，全店满99元包邮[1]。" if any("\u4e00" <= ch <= "\u9fff" for ch in text[-60:]) else \
        "Hello! Orders over ¥99 ship free [1]."


def make_service(tmp_path, kb, generator=None, today=TODAY, **settings) -> CopilotService:
    return CopilotService(knowledge_dir=kb, index_dir=tmp_path / "index",
                          settings=Settings(**{"embed_model": "hash:256", "evidence_cosine_floor": 0.0,
                                               **settings}),
                          feedback_db=tmp_path / "fb.sqlite3", generator=generator or FakeGenerator(zh_or_en),
                          embedder=HashEmbedder(256), today=today, eval_runs_dir=tmp_path / "runs")


def test_first_start_builds_the_index_and_suggest_has_the_design_shape(tmp_path, kb):
    service = make_service(tmp_path, kb)
    steps = []
    summary = service.ensure_index(lambda d, t, w: steps.append(w))
    assert summary["passages"] > 0 and "embedding" in steps
    assert service.ensure_index() is None  # second start: nothing to build
    out = service.suggest("满多少包邮？", "客户：在吗\n客服：在的")
    assert set(out) >= {"language", "hits", "drafts", "escalate", "escalation_reasons", "timings_ms", "errors"}
    assert out["language"] == "zh" and out["hits"][0]["source"] == "policies/shipping.zh.md"
    assert set(out["hits"][0]) >= {"id", "source", "title", "text", "score", "kind", "valid_from", "valid_until"}
    assert out["drafts"][-1]["origin"] == "model" and out["drafts"][-1]["citations"]
    json.dumps(out)  # plain JSON all the way down
    with pytest.raises(UserError):
        service.suggest("   ")
    with pytest.raises(UserError):
        service.suggest("x" * (service.settings.max_message_chars + 1))


def _manifest(tmp_path):
    return json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))


def test_cancelled_reindex_leaves_the_old_index_serving(tmp_path, kb):
    service = make_service(tmp_path, kb)
    service.ensure_index()
    before, copilot = _manifest(tmp_path), service.copilot
    (kb / "policies" / "gift.en.md").write_text("# Gift cards\nGift cards never expire.\n", encoding="utf-8")
    with pytest.raises(ReindexCancelled):
        service.reindex(lambda d, t, w: service.cancel_reindex())
    assert _manifest(tmp_path) == before and service.copilot is copilot
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]  # no half-written index left
    assert not service.build.running and "cancelled" in service.build.last_error
    assert service.suggest("gift cards expire?", "")["hits"]  # still answering on the old index
    service.reindex()  # and the next build works
    assert "policies/gift.en.md" in _manifest(tmp_path)["files"] and service.copilot is not copilot


def test_failed_reindex_leaves_the_old_index_serving(tmp_path, kb):
    service = make_service(tmp_path, kb)
    service.ensure_index()
    before, copilot = _manifest(tmp_path), service.copilot
    for f in kb.rglob("*.*"):
        f.unlink()
    with pytest.raises(UserError):
        service.reindex()
    assert _manifest(tmp_path) == before and service.copilot is copilot and service.build.last_error
    assert service.suggest("Do you offer gift wrapping?")["hits"]


def test_promote_reindexes_in_the_background(tmp_path, kb):
    service = make_service(tmp_path, kb)
    service.ensure_index()
    question = "Can I pick up my order at the Hangzhou store?"
    first = service.suggest(question)
    assert not any(h["source"] == "faq/promoted_replies.csv" for h in first["hits"])
    state = {"message": question, "suggestion": first, "origin": "model", "draft_text": first["drafts"][-1]["text"]}
    rid = service.record(status="accepted", state=state,
                         final_text="Yes, pick-up at our Hangzhou store is free; bring your order number.")
    service.promote(rid, question, "Yes, pick-up at our Hangzhou store is free; bring your order number.",
                    keywords="pick-up;Hangzhou")
    assert service.wait_for_background(30)
    assert service.build.last_error == ""
    hits = service.suggest("pick up at Hangzhou store?")["hits"]
    assert hits[0]["source"] == "faq/promoted_replies.csv" and hits[0]["kind"] == "past_reply"
    assert service.feedback.get(rid)["promoted_at"]
    rejected = service.record(status="rejected", state=state, reason="tone")
    with pytest.raises(UserError):
        service.promote(rejected, question, "x")


def _final(gen):
    out = None
    for out in gen:
        pass
    return out


@pytest.mark.parametrize("error", [GeneratorError("llama.cpp: out of memory"), RuntimeError("segfault-ish")])
def test_backend_crash_shows_an_error_and_keeps_sources_and_saved_reply(tmp_path, kb, error):
    # a question with a saved FAQ answer (on a day without emergency entries): the saved reply must survive
    service = make_service(tmp_path, kb, generator=FakeGenerator([error]), today=date(2026, 6, 1),
                           saved_reply_threshold=0.6)
    service.ensure_index()
    handlers = agent_handlers(service)
    status, drafts, sources, reply, picker, state = _final(handlers["suggest"]("能开发票吗？", "", "auto", None))
    assert "error-box" in drafts and "src-card" in sources
    assert state["suggestion"]["errors"] and state["suggestion"]["hits"]
    first = state["suggestion"]["drafts"][0]  # the composed draft, from the saved answer, stays in the editor
    assert first["origin"] == "composed" and reply == first["text"] and "电子发票" in reply
    assert [d for d in state["suggestion"]["drafts"] if d["origin"] == "saved_reply"]
    assert [d["origin"] for d in state["drafts"]] == ["composed", "saved_reply"]
    api = service.suggest("能开发票吗？")
    assert api["errors"] and api["hits"] and api["drafts"][0]["origin"] == "composed"


def test_agent_handlers_accept_and_reject(tmp_path, kb):
    service = make_service(tmp_path, kb)
    service.ensure_index()
    h = agent_handlers(service)
    *_, reply, _, state = _final(h["suggest"]("Do you offer gift wrapping?", "", "auto", None))
    assert reply
    status, recent = h["accept"](reply + " Call 13812345678.", state)
    assert "feedback #1" in status and recent[0][2] == "accepted"
    assert "13812345678" not in service.feedback.get(1)["final_text"]
    status, recent = h["reject"]("Wrong tone", "too formal", state)
    assert recent[0][2] == "rejected" and service.feedback.get(2)["reason"] == "Wrong tone — too formal"
    status, *_ = _final(h["suggest"]("", "", "auto", None))
    assert "empty" in status
    path = service.export("csv")
    assert path.is_file() and path.parent == service.export_dir and "accepted" in path.read_text("utf-8-sig")
    assert service.export("jsonl").read_text("utf-8").count("\n") == 2
    service.close()
    assert not path.exists()


def test_cli_options_and_warning(tmp_path, kb, monkeypatch, capsys):
    monkeypatch.setenv("COPILOT_EMBED_MODEL", "hash:256")
    monkeypatch.setenv("COPILOT_BACKEND", "fake")
    launched = {}
    monkeypatch.setattr(app, "launch", lambda demo, **kw: launched.update(kw, service=demo.service))
    rc = app.main(["--knowledge", str(kb), "--index", str(tmp_path / "idx"), "--host", "0.0.0.0",
                   "--port", "7999", "--feedback-db", str(tmp_path / "fb.sqlite3"), "--today", "2026-11-20"])
    err = capsys.readouterr().err
    assert rc == 0 and "WARNING" in err and "without --auth" in err and "building it" in err
    assert launched["host"] == "0.0.0.0" and launched["port"] == 7999 and launched["auth"] is None
    assert (tmp_path / "idx" / "manifest.json").is_file()
    assert launched["service"].fixed_today == TODAY
    monkeypatch.setenv("COPILOT_AUTH", "agent:s3cret")
    monkeypatch.setenv("COPILOT_PORT", "7998")
    assert app.main(["--knowledge", str(kb), "--index", str(tmp_path / "idx"),
                     "--feedback-db", str(tmp_path / "fb.sqlite3")]) == 0
    assert launched["auth"] == ("agent", "s3cret") and launched["port"] == 7998 and launched["host"] == "127.0.0.1"
    assert "WARNING" not in capsys.readouterr().err
    assert app.main(["--auth", "nopassword"]) == 2
    assert app.main(["--today", "someday"]) == 2
    monkeypatch.setenv("COPILOT_PORT", "eighty")
    assert app.main([]) == 2 and "COPILOT_PORT" in capsys.readouterr().err


def test_auth_and_host_helpers():
    assert app.parse_auth("a:b:c") == ("a", "b:c") and app.parse_auth(None) is None
    with pytest.raises(UserError):
        app.parse_auth(":x")
    assert app.is_loopback("127.0.0.1") and app.is_loopback("::1") and app.is_loopback("localhost")
    assert not app.is_loopback("0.0.0.0") and not app.is_loopback("192.168.1.5")


def test_warm_up_runs_the_system_prompt_once_and_never_raises(tmp_path, kb, capsys):
    gen = FakeGenerator(["好"])
    service = make_service(tmp_path, kb, generator=gen)
    service.ensure_index()
    service.warm_up()
    assert len(gen.calls) == 2 and all(call[0]["role"] == "system" for call in gen.calls)  # zh and en prefixes
    broken = make_service(tmp_path, kb, generator=FakeGenerator(["x"], raise_after=0, error=RuntimeError("no model")))
    broken.warm_up()  # reported, not raised
    assert "model warm-up failed" in capsys.readouterr().err
