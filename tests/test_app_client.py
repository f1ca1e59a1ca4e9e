"""The real app on a loopback port, driven through `gradio_client`: the /suggest endpoint, feedback, promote then
re-index, files outside the app refused, and 5 agents submitting at once (p95 latency and refusals printed)."""
from __future__ import annotations

import os
import socket
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import write_kb

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 20)
MODEL_SECONDS = 0.25  # the scripted generator takes this long per reply, like a (very fast) model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_reply(messages):
    time.sleep(MODEL_SECONDS)
    text = messages[-1]["content"]
    if any("\u4e00" <= ch <= "\u9fff" for ch in text[-60:]):
        return "您好，全店满99元包邮[1]。"
    return "Hello! Orders over ¥99 ship free [1]."


@contextmanager
def running_app(root: Path, concurrency: int = 2, queue_size: int = 16, auth=None):
    """create_app + launch on a free loopback port with everything under `root`; always closed."""
    from app import create_app, launch
    from index.embed import HashEmbedder
    from suggest.backends import FakeGenerator
    from core.settings import Settings

    old_tmp = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio-tmp")
    kb = write_kb(root / "kb")
    demo = create_app(knowledge_dir=kb, index_dir=root / "index", settings=Settings(embed_model="hash:256"),
                      feedback_db=root / "feedback.sqlite3", generator=FakeGenerator(slow_reply),
                      embedder=HashEmbedder(256), today=TODAY, eval_sets_dir=root / "sets",
                      eval_runs_dir=root / "runs", concurrency=concurrency, queue_size=queue_size)
    port = free_port()
    try:
        launch(demo, port=port, prevent_thread_lock=True, quiet=True, auth=auth)
        yield demo, f"http://127.0.0.1:{port}/", kb
    finally:
        demo.close()
        demo.service.close()
        if old_tmp is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = old_tmp


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as served:
        yield served


def client(url: str, **kw):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, **kw)


def test_suggest_endpoint_returns_the_suggestion_object(server):
    demo, url, _ = server
    c = client(url)
    api = c.view_api(print_info=False, return_format="dict")
    assert "/suggest" in api["named_endpoints"]
    assert not any(name.startswith("/agent_") for name in api["named_endpoints"])  # UI events stay private
    out = c.predict("满多少包邮？运费多少", "客户：在吗\n客服：在的", api_name="/suggest")
    assert set(out) >= {"language", "hits", "drafts", "escalate", "escalation_reasons", "timings_ms", "errors"}
    assert out["language"] == "zh" and out["hits"] and out["escalate"] is False
    hit = out["hits"][0]
    assert set(hit) >= {"id", "source", "title", "text", "score", "kind", "valid_from", "valid_until", "pinned"}
    assert hit["source"] == "policies/shipping.zh.md"
    model = [d for d in out["drafts"] if d["origin"] == "model"][0]
    assert model["text"] == "您好，全店满99元包邮[1]。" and model["citations"] == [hit["id"]]
    assert isinstance(model["checks"], list)
    en = c.predict("Do you offer gift wrapping?", api_name="/suggest")
    assert en["language"] == "en" and en["hits"][0]["source"] == "faq/faq.csv"


def test_bad_input_is_a_clean_error(server):
    from gradio_client.exceptions import AppError

    _, url, _ = server
    c = client(url)
    with pytest.raises(AppError, match="empty"):
        c.predict("   ", "", api_name="/suggest")
    with pytest.raises(AppError, match="limit"):
        c.predict("x" * 5000, "", api_name="/suggest")


def test_feedback_is_recorded_masked_then_promote_reindexes(server):
    demo, url, kb = server
    c = client(url)
    question = "Can I pick up my order at the Hangzhou store?"
    sug = c.predict(question, "", api_name="/suggest")
    assert not any(h["source"] == "faq/promoted_replies.csv" for h in sug["hits"])
    final = "Yes, pick-up at our Hangzhou store is free; we will call you on 13812345678 when it is ready."
    rec = c.predict(question, final, "accepted", "", "", sug, "", api_name="/feedback")
    stored = demo.service.feedback.get(rec["id"])
    assert stored["status"] == "accepted" and rec["edit_distance"] == stored["edit_distance"] > 0
    assert "13812345678" not in stored["final_text"] and "138****5678" in stored["final_text"]
    assert stored["hits"][0]["id"] == sug["hits"][0]["id"]
    rejected = c.predict("Where is my parcel?", "", "rejected", "wrong facts", api_name="/feedback")
    assert demo.service.feedback.get(rejected["id"])["reason"] == "wrong facts"

    row = c.predict(rec["id"], "", "", "pick-up;Hangzhou", api_name="/promote")
    assert row["kind"] == "past_reply" and "13812345678" not in row["answer"]
    assert "138****5678" in (kb / "faq" / "promoted_replies.csv").read_text(encoding="utf-8")
    # the re-index runs in the background; suggestions keep working meanwhile and then find the new reply
    deadline = time.time() + 60
    found = None
    while time.time() < deadline:
        hits = c.predict("pick up at the Hangzhou store?", "", api_name="/suggest")["hits"]
        found = next((h for h in hits if h["source"] == "faq/promoted_replies.csv"), None)
        if found:
            break
        time.sleep(0.3)
    assert found and found["kind"] == "past_reply", demo.service.build.last_error
    assert demo.service.build.last_error == ""


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_files_outside_the_app_are_not_served(server):
    demo, url, kb = server
    tmp = os.environ.get("GRADIO_TEMP_DIR", "/tmp/gradio")
    targets = [
        "/etc/passwd",
        "../../../../../../etc/passwd",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"{tmp}/../../../../../etc/passwd",
        str(kb / "faq" / "faq.csv"),                      # the knowledge folder is not a download area
        str(demo.service.feedback.path),                   # nor is the feedback record
        str(demo.service.index_dir / "manifest.json"),
        str(Path(__file__).resolve()),                     # nor the working directory
    ]
    for target in targets:
        for prefix in ("gradio_api/file=", "file=", "gradio_api/file/"):
            status, body = _get(url + prefix + (target if "%" in target else urllib.parse.quote(target)))
            assert status in (400, 403, 404), (prefix, target, status)
            assert b"root:x:0:0" not in body and b"SQLite format" not in body


def test_five_agents_at_once(server):
    """5 clients submit at the same moment: every one gets an answer or a clean refusal. Prints p95."""
    _, url, _ = server
    clients = [client(url) for _ in range(5)]
    messages = ["满多少包邮？", "Do you offer gift wrapping?", "付款后多久发货？", "Can I return the kettle?",
                "能开发票吗？"]
    start = threading.Barrier(5)
    results: list[tuple[str, float, str]] = []
    lock = threading.Lock()

    def agent(i: int) -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            out = clients[i].predict(messages[i], "", api_name="/suggest")
            outcome, detail = "ok", out["language"]
        except Exception as e:  # noqa: BLE001 - a refusal must be an error message, not a hang or a crash
            outcome, detail = "refused", str(e)[:120]
        with lock:
            results.append((outcome, (time.perf_counter() - t0) * 1000, detail))

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(results) == 5 and not any(th.is_alive() for th in threads)
    ok = sorted(ms for outcome, ms, _ in results if outcome == "ok")
    refused = [d for outcome, _, d in results if outcome == "refused"]
    p95 = ok[min(len(ok) - 1, int(round(0.95 * (len(ok) - 1))))] if ok else None
    print(f"\n5 concurrent agents: {len(ok)} answered, {len(refused)} refused; latency ms "
          f"p50={statistics.median(ok):.0f} p95={p95:.0f} max={max(ok):.0f} "
          f"(scripted model {MODEL_SECONDS * 1000:.0f} ms/reply, concurrency 2, queue 16)")
    assert len(ok) == 5  # the default queue (16) holds a burst of 5
    assert p95 < 30_000


def test_a_burst_beyond_the_queue_is_refused_cleanly(tmp_path):
    """Concurrency 1 and a queue of 1: of 6 simultaneous requests some are refused with a clear error, the others
    answered, and the server keeps working afterwards."""
    with running_app(tmp_path, concurrency=1, queue_size=1) as (_, url, _):
        clients = [client(url) for _ in range(6)]
        start = threading.Barrier(6)
        outcomes: list[str] = []

        def agent(c) -> None:
            start.wait()
            try:
                c.predict("满多少包邮？", "", api_name="/suggest")
                outcomes.append("ok")
            except Exception as e:  # noqa: BLE001
                outcomes.append("refused: " + str(e)[:100])

        threads = [threading.Thread(target=agent, args=(c,)) for c in clients]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        refused = [o for o in outcomes if o.startswith("refused")]
        print(f"\nburst of 6 with concurrency 1, queue 1: {outcomes.count('ok')} answered, {len(refused)} refused"
              + (f" ({refused[0]})" if refused else ""))
        assert len(outcomes) == 6 and outcomes.count("ok") >= 1 and refused
        assert all("queue" in o.lower() or "full" in o.lower() for o in refused)
        assert client(url).predict("满多少包邮？", "", api_name="/suggest")["hits"]  # still serving


def test_auth_is_required_when_set(tmp_path):
    with running_app(tmp_path, auth=("agent", "s3cret")) as (_, url, _):
        status, _ = _get(url + "gradio_api/info")
        assert status in (401, 403)
        with pytest.raises(Exception):
            client(url)
        assert client(url, auth=("agent", "s3cret")).predict("满多少包邮？", "", api_name="/suggest")["hits"]
