"""The app in headless Chromium (Playwright): the UI language switch relabels the page; ask in Chinese and in
English, edit and accept, see the feedback row; re-index and run an evaluation; screenshots of every view are kept
as artefacts (in $COPILOT_ARTIFACTS when set, else in the test's temporary folder)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.test_app_client import running_app

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EVAL_SET = [
    {"id": "ship-zh", "question": "满多少包邮？", "gold_sources": ["policies/shipping.zh.md"]},
    {"id": "ship-en", "question": "How much is shipping?", "gold_sources": ["policies/shipping.en.md"]},
    {"id": "wrap", "question": "Do you offer gift wrapping?", "gold_sources": ["faq/faq.csv"]},
    {"id": "kettle", "question": "What is the kettle's capacity?", "gold_sources": ["products/kettle.en.md"]},
]


@pytest.fixture
def artifacts(tmp_path) -> Path:
    folder = Path(os.environ.get("COPILOT_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (CI installs Debian's chromium package)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def test_agent_flow_in_a_real_browser(tmp_path, browser, artifacts):
    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "small.jsonl").write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in EVAL_SET) + "\n",
                                      encoding="utf-8")
    with running_app(tmp_path) as (demo, url, kb):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("#message-box textarea", timeout=30_000)

        # the UI language switch relabels the page; back on Auto it follows the message language
        page.locator("#ui-lang label", has_text="中文").click()
        page.wait_for_function("document.querySelector('#message-box').innerText.includes('客户消息')",
                               timeout=10_000)
        assert page.inner_text("#suggest-btn").strip() == "生成建议"
        assert page.get_by_role("tab", name="客服工作台").count() == 1
        page.wait_for_function("document.querySelector('#drafts-panel').innerText.includes('回复草稿')",
                               timeout=10_000)
        page.screenshot(path=str(artifacts / "agent-zh-labels.png"), full_page=True)
        page.locator("#ui-lang label", has_text="自动").click()
        page.wait_for_function("document.querySelector('#message-box').innerText.includes('Customer message')",
                               timeout=10_000)

        # Chinese question, submitted with Ctrl+Enter
        page.fill("#message-box textarea", "满多少包邮？运费多少")
        page.press("#message-box textarea", "Control+Enter")
        page.wait_for_selector("#drafts-panel .draft-card.origin-model", timeout=30_000)
        page.wait_for_function("document.querySelector('#reply-box textarea').value.includes('包邮')",
                               timeout=30_000)
        assert page.locator("#sources-panel .src-card").count() >= 3
        assert "policies/shipping.zh.md" in page.inner_text("#sources-panel")
        assert page.locator("#sources-panel .src-card.is-cited").count() >= 1
        assert page.locator("#drafts-panel a.cite[href='#src-1']").count() >= 1
        page.wait_for_function("document.querySelector('#reply-box').innerText.includes('要发送的回复')",
                               timeout=10_000)  # the UI follows the message language
        assert page.inner_text("#suggest-btn").strip() == "生成建议"
        page.screenshot(path=str(artifacts / "agent-zh.png"), full_page=True)

        # English question with the button; the UI switches back to English
        page.fill("#message-box textarea", "Do you offer gift wrapping?")
        page.click("#suggest-btn")
        # the draft built from the knowledge base (the FAQ answer) fills the reply box at once and comes first;
        # the scripted model's rephrasing streams in beside it, in the same row
        page.wait_for_function("document.querySelector('#reply-box textarea').value.includes('gift wrapping')",
                               timeout=30_000)
        page.wait_for_function("[...document.querySelectorAll('#drafts-panel .draft-pair .draft-card.origin-model')]"
                               ".some(c => c.innerText.includes('Orders over'))", timeout=30_000)
        first, beside = (page.locator("#drafts-panel .draft-pair > .draft-card").nth(i) for i in (0, 1))
        first_class = first.get_attribute("class")
        assert "origin-model" not in first_class and "origin-model" in beside.get_attribute("class")
        assert "origin-composed" in first_class or page.locator("#drafts-panel .origin-composed").count() == 0
        assert page.locator("#drafts-panel .draft-card").first.get_attribute("class") == first_class
        a, b = first.bounding_box(), beside.bounding_box()
        assert abs(a["y"] - b["y"]) < 4 and b["x"] >= a["x"] + a["width"]  # side by side
        reply = " ".join(page.input_value("#reply-box textarea").split())
        assert reply[:40] in " ".join(first.locator(".draft-text").inner_text().split())
        page.wait_for_function("document.querySelector('#reply-box').innerText.includes('Reply to send')",
                               timeout=10_000)
        assert "faq/faq.csv" in page.inner_text("#sources-panel")

        # edit and accept: feedback row appears, the text is on the clipboard
        edited = "Hello! Yes, gift wrapping is ¥5 per order; choose it at checkout [1]."
        page.fill("#reply-box textarea", edited)
        page.click("#accept-btn")
        page.wait_for_function("document.querySelector('#agent-status').innerText.includes('feedback #1')",
                               timeout=15_000)
        page.wait_for_function("document.querySelector('#recent-feedback').innerText.includes('accepted')",
                               timeout=15_000)
        assert page.evaluate("navigator.clipboard.readText()") == edited
        record = demo.service.feedback.get(1)
        assert record["status"] == "accepted" and record["final_text"] == edited and record["edit_distance"] > 0
        page.screenshot(path=str(artifacts / "agent.png"), full_page=True)

        # feedback view lists the row
        page.get_by_role("tab", name="Feedback").click()
        page.wait_for_function("document.querySelector('#feedback-table').innerText.includes('gift wrapping')",
                               timeout=15_000)
        page.screenshot(path=str(artifacts / "feedback.png"), full_page=True)

        # knowledge view: sources listed; re-index with progress while the agent view keeps working
        page.get_by_role("tab", name="Knowledge").click()
        page.wait_for_function("document.querySelector('#sources-table').innerText.includes('faq/faq.csv')",
                               timeout=15_000)
        upload = tmp_path / "to-upload" / "Gift Cards.md"
        upload.parent.mkdir()
        upload.write_text("# Gift cards\nGift cards never expire.\n", encoding="utf-8")
        page.set_input_files("#upload-files input[type=file]", str(upload))
        page.wait_for_timeout(500)
        page.click("#upload-btn")
        page.wait_for_function("document.querySelector('#knowledge-status').innerText.includes('saved')",
                               timeout=15_000)
        assert (kb / "Gift-Cards.md").read_text(encoding="utf-8").startswith("# Gift cards")
        page.wait_for_function("document.querySelector('#sources-table').innerText.includes('new (re-index')",
                               timeout=15_000)
        page.click("#reindex-btn")
        page.wait_for_function("document.querySelector('#knowledge-status').innerText.includes('re-indexed')",
                               timeout=60_000)
        assert "Gift-Cards.md" in page.inner_text("#sources-table")
        assert "re-index" not in page.inner_text("#sources-table")
        page.screenshot(path=str(artifacts / "knowledge.png"), full_page=True)

        # evaluation view: run the set, see metrics and both charts
        page.get_by_role("tab", name="Evaluation").click()
        page.click("#eval-run-btn")
        page.wait_for_function("document.querySelector('#eval-metrics').innerText.includes('recall_at_1')",
                               timeout=60_000)
        page.wait_for_timeout(1000)
        assert list((tmp_path / "runs").glob("*.json"))
        page.screenshot(path=str(artifacts / "evaluation.png"), full_page=True)
        assert not errors, errors
        context.close()
    for name in ("agent.png", "knowledge.png", "evaluation.png", "feedback.png"):
        assert (artifacts / name).stat().st_size > 10_000
