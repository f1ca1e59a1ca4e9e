"""Knowledge-folder edits from the app (upload names, folders, entries) and the HTML rendering (escaping)."""
from __future__ import annotations

from datetime import date

import pytest

from app_parts import knowledge as kn
from app_parts.history import parse_history
from app_parts.render import display_sentences, drafts_html, sources_html
from core.errors import UserError
from core.types import Passage


@pytest.mark.parametrize("name, expected", [
    ("returns.md", "returns.md"),
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\windows\\evil.txt", "evil.txt"),
    ("/etc/cron.d/job.csv", "job.csv"),
    ("C:\\Users\\me\\faq.CSV", "faq.csv"),
    ("退货 政策.MD", "退货-政策.md"),
    ("ＦＡＱ．ｍｄ", "FAQ.md"),                       # full-width letters (NFKC)
    ("a\u202egnp.md", "agnp.md"),                    # right-to-left override removed
    ("tab\tand\nnewline.txt", "tab-and-newline.txt"),
    ("...hidden.md", "hidden.md"),
    ("weird<>|:*?\"name.jsonl", "weird_name.jsonl"),
    ("x" * 300 + ".md", "x" * kn.MAX_STEM_CHARS + ".md"),
    ("notes.tar.md", "notes.tar.md"),
])
def test_upload_names_are_sanitised(name, expected):
    assert kn.sanitise_upload_name(name) == expected


@pytest.mark.parametrize("name", [
    "../../etc/passwd",          # no extension
    "/etc/shadow",
    "script.py", "page.html", "run.sh", "archive.md.exe", "photo.png", "shop.yaml",
    ".md", "...", "", "README.md",
    "../",
    "evil.md/",
])
def test_disallowed_upload_names_are_refused(name):
    with pytest.raises(UserError):
        kn.sanitise_upload_name(name)


@pytest.mark.parametrize("folder, expected", [
    ("", ""), ("policies", "policies"), ("../../etc", "etc"), ("/abs/path", "abs/path"),
    ("faq/../..", "faq"), (".hidden/x", "hidden/x"),
])
def test_folders_are_sanitised(folder, expected):
    assert kn.sanitise_folder(folder) == expected


def test_save_upload_stays_inside_the_knowledge_folder(kb, tmp_path):
    src = tmp_path / "upload" / "passwd.md"
    src.parent.mkdir()
    src.write_text("# Gift cards\nGift cards never expire.\n", encoding="utf-8")
    rel, warnings = kn.save_upload(kb, src, "../../../etc/passwd.md", folder="../policies")
    assert rel == "policies/passwd.md" and not warnings
    assert (kb / "policies" / "passwd.md").is_file()
    assert not (tmp_path / "etc").exists()
    assert "policies/passwd.md" in kn.knowledge_files(kb)


def test_save_upload_refuses_big_unreadable_and_config(kb, tmp_path):
    big = tmp_path / "big.md"
    big.write_text("x" * 100, encoding="utf-8")
    with pytest.raises(UserError, match="limit"):
        kn.save_upload(kb, big, "big.md", max_bytes=10)
    broken = tmp_path / "broken.csv"
    broken.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match="not saved"):
        kn.save_upload(kb, broken, "broken.csv")
    assert not (kb / "broken.csv").exists()
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError):
        kn.save_upload(kb, binary, "bin.txt")
    ok = tmp_path / "ok.md"
    ok.write_text("# Rules\ntext\n", encoding="utf-8")
    with pytest.raises(UserError):
        kn.save_upload(kb, ok, "ok.md", folder="rules")


def test_inside_refuses_symlink_escape(kb, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (kb / "link").symlink_to(outside)
    with pytest.raises(UserError):
        kn.inside(kb, "link/x.md")


def test_remove_source_only_removes_knowledge_files(kb):
    (kb / "shop.yaml").write_text("shop: {}\n", encoding="utf-8")
    with pytest.raises(UserError):
        kn.remove_source(kb, "shop.yaml")
    with pytest.raises(UserError):
        kn.remove_source(kb, "../kb/products/kettle.en.md")
    kn.remove_source(kb, "products/kettle.en.md")
    assert not (kb / "products" / "kettle.en.md").exists()


def test_faq_and_emergency_entries_add_and_edit(kb):
    n = len(kn.read_entries(kb, "faq"))
    i = kn.save_entry(kb, "faq", {"question": "Do you ship abroad?", "answer": "Not yet.", "keywords": "abroad, overseas"})
    rows = kn.read_entries(kb, "faq")
    assert i == n and rows[i]["keywords"] == "abroad;overseas" and rows[i]["kind"] == "faq"
    kn.save_entry(kb, "faq", {"question": "Do you ship abroad?", "answer": "Only to Hong Kong."}, row=i)
    assert kn.read_entries(kb, "faq")[i]["answer"] == "Only to Hong Kong."
    assert len(kn.read_entries(kb, "faq")) == n + 1
    with pytest.raises(UserError, match="keywords"):
        kn.save_entry(kb, "emergency", {"question": "Typhoon?", "answer": "Delays of 2 days."})
    kn.save_entry(kb, "emergency", {"question": "Typhoon?", "answer": "Delays of 2 days.", "keywords": "台风",
                                    "valid_from": "2026-09-01", "valid_until": "2026-09-10"})
    from index.loaders import load_file

    loaded = load_file(kb, kb / "faq" / "emergency.csv", 400)
    assert not loaded.problems and loaded.passages[0].kind == "emergency"
    with pytest.raises(UserError):
        kn.save_entry(kb, "faq", {"question": "q", "answer": "a", "valid_from": "2026-13-01"})
    with pytest.raises(UserError):
        kn.save_entry(kb, "faq", {"question": "q", "answer": "a"}, row=999)
    with pytest.raises(UserError):
        kn.save_entry(kb, "../../etc", {"question": "q", "answer": "a"})


def _p(pid, **kw):
    base = dict(id=pid, source="faq/faq.csv", title="t", text="text", kind="faq")
    base.update(kw)
    return Passage(**base)


def test_expired_flagged_and_conflicting_lists():
    ps = [_p("a", question="Free shipping?", text="Over ¥99."),
          _p("b", question="free shipping", text="Over ¥199.", source="faq/old.csv"),
          _p("c", valid_until="2026-01-01", question="Old promo?"),
          _p("d", flags=["instruction"], question="x"),
          _p("e", kind="emergency", question="Free shipping?", text="Not during 11.11", keywords=["11"])]
    assert [r[0] for r in kn.expired_rows(ps, date(2026, 6, 1))] == ["c"]
    flagged = {r[0]: r[-1] for r in kn.flagged_rows(ps)}
    assert flagged == {"d": "instruction", "a": "conflict", "b": "conflict"}
    assert [r[0] for r in kn.passage_rows(ps, "shipping 199")] == ["b"]
    assert [r[0] for r in kn.passage_rows(ps, "", kind="emergency")] == ["e"]


# --------------------------------------------------------------------------------------------------- render
def test_history_parsing():
    turns = parse_history("客户：在吗？\n客服: 在的，请问有什么可以帮您\ncustomer: where is my parcel\nit is late\nagent: checking")
    assert [t["role"] for t in turns] == ["customer", "agent", "customer", "agent"]
    assert turns[2]["content"] == "where is my parcel\nit is late"
    assert parse_history('[{"role": "assistant", "content": "hi"}]') == [{"role": "agent", "content": "hi"}]
    assert parse_history("") == [] and parse_history(None) == []
    with pytest.raises(UserError):
        parse_history("x" * 100, max_chars=50)


@pytest.mark.parametrize("text, pieces", [
    ("Hello! Orders over ¥99 ship free [1]. Thanks.", ["Hello! ", "Orders over ¥99 ship free [1]. ", "Thanks."]),
    ("您好！满99包邮。[1][2]还有问题吗？", ["您好！", "满99包邮。[1][2]", "还有问题吗？"]),
    ("Line one\nLine two\n\nThree.", ["Line one\n", "Line two\n\n", "Three."]),
    ("  The 1.7L kettle. Sure", ["  The 1.7L kettle. ", "Sure"]),
    ("他说“好的。”谢谢", ["他说“好的。”", "谢谢"]),
    ("   ", []),
])
def test_display_sentences_keep_every_character_and_their_citations(text, pieces):
    assert display_sentences(text) == pieces
    assert "".join(pieces) == (text if pieces else "")


def test_rendering_escapes_everything_from_data():
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    hits = [{"id": "p1", "source": "a<b>.md", "title": evil, "text": evil + " 包邮", "score": 0.1, "kind": "faq"}]
    drafts = [{"origin": "model", "text": evil + " [1] [9]", "citations": ["p1"],
               "checks": [{"name": "x", "severity": "error", "message": evil, "span": "<script>"}]}]
    for out in (sources_html(hits, "en", message=evil + " 包邮", cited=["p1"]), drafts_html(drafts, hits, "zh")):
        assert "<script>" not in out and "<img" not in out and "&lt;script&gt;" in out
    d = drafts_html(drafts, hits, "en")
    assert 'href="#src-1"' in d and 'class="cite bad">[9]' in d
    assert "<mark>" in sources_html(hits, "zh", message="包邮")


def test_warnings_sit_under_their_sentence():
    drafts = [{"origin": "model", "text": "您好！满99包邮[1]。保证明天到！", "citations": [],
               "checks": [{"name": "unsupported_promise", "severity": "error", "message": "PROMISE",
                           "span": "保证", "sentence": "保证明天到！"}]}]
    out = drafts_html(drafts, [], "zh")
    assert out.index("满99包邮") < out.index("保证") < out.index("</span> PROMISE")
    assert "sent-error" in out and '<mark class="diff diff-error" title="PROMISE">保证</mark>' in out
