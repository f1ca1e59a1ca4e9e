"""The feedback record: edit distance, SQLite round trip with masking, exports, promotion to a past reply."""
from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from app_parts.feedback import FeedbackStore, append_table_row, edit_distance, promote_reply
from index.loaders import load_file
from suggest.checks import mask_pii
from core.errors import UserError

PHONE = "13812345678"
EMAIL = "jane.doe@example.com"


@pytest.mark.parametrize("a, b, expected", [
    ("", "", 0),
    ("", "abc", 3),
    ("abc", "", 3),
    ("kitten", "sitting", 3),
    ("flaw", "lawn", 2),
    ("same text", "same text", 0),
    ("满99包邮", "满199包邮", 1),           # one inserted character
    ("您好，七天无理由退货", "您好，7天无理由退货", 1),  # one substituted character
    ("ab", "ba", 2),                      # a swap is two edits (plain Levenshtein)
    ("Hello [1].", "Hello!", 5),
])
def test_edit_distance_table(a, b, expected):
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


def test_edit_distance_long_texts_with_small_edit_are_fast():
    base = "全店满99元包邮，付款后48小时内发货。" * 200
    assert edit_distance(base, base[:1000] + "X" + base[1001:]) == 1


def _suggestion(draft: str) -> dict:
    return {"language": "en", "escalate": False,
            "hits": [{"id": "p-1", "source": "faq/faq.csv", "title": "Gift wrap", "text": "¥5", "score": 0.5,
                      "kind": "faq"}],
            "drafts": [{"text": draft, "citations": ["p-1"], "origin": "model",
                        "checks": [{"name": "pii", "severity": "warning", "message": f"phone {PHONE}",
                                    "span": PHONE}]}],
            "timings_ms": {"retrieve": 3.2, "total": 120.0}}


def test_feedback_round_trip_masks_personal_data(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3", mask=mask_pii)
    draft = "Gift wrapping is ¥5 [1]."
    final = f"Gift wrapping is ¥5 per order. I will call you on {PHONE}."
    rid = store.record(status="accepted", message=f"Gift wrap? Mail me at {EMAIL} or call {PHONE}",
                       suggestion=_suggestion(draft), history=[{"role": "customer", "content": f"I am {EMAIL}"}],
                       draft_origin="model", draft_text=draft, final_text=final,
                       timings={"retrieve": 3.2, "decision": 5000})
    rec = store.get(rid)
    assert rec["status"] == "accepted" and rec["draft_origin"] == "model"
    assert rec["edit_distance"] == edit_distance(mask_pii(draft), mask_pii(final))
    assert rec["hits"] == [{"id": "p-1", "source": "faq/faq.csv", "title": "Gift wrap", "kind": "faq",
                            "score": 0.5}]
    assert rec["drafts"][0]["citations"] == ["p-1"]
    assert rec["timings"]["decision"] == 5000
    # nothing personal anywhere in the file
    raw = (tmp_path / "fb.sqlite3").read_bytes().decode("utf-8", "replace")
    assert PHONE not in raw and EMAIL not in raw
    with sqlite3.connect(tmp_path / "fb.sqlite3") as con:
        row = con.execute("SELECT message, final_text, history, drafts FROM feedback").fetchone()
    assert all(PHONE not in field and EMAIL not in field for field in row)
    assert "138****5678" in row[1]


def test_feedback_rejected_and_stats(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3", mask=mask_pii)
    store.record(status="accepted", message="hi", draft_text="abc", final_text="abd")
    rid = store.record(status="rejected", message="hi again", reason=f"wrong tone — call {PHONE}")
    rec = store.get(rid)
    assert rec["status"] == "rejected" and rec["edit_distance"] is None and PHONE not in rec["reason"]
    assert store.stats() == {"total": 2, "accepted": 1, "rejected": 1, "mean_edit_distance": 1.0}
    assert [r["id"] for r in store.recent(10)] == [rid, rid - 1]
    with pytest.raises(UserError):
        store.record(status="maybe", message="x")
    with pytest.raises(UserError):
        store.record(status="accepted", message="  ")


def test_exports_csv_and_jsonl(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3", mask=mask_pii)
    store.record(status="accepted", message="=HYPERLINK(\"http://x\")", suggestion=_suggestion("ok [1]"),
                 draft_text="ok [1]", final_text="ok")
    csv_path = store.export_csv(tmp_path / "out.csv")
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8-sig")))
    assert rows[0]["status"] == "accepted" and rows[0]["hit_sources"] == "faq/faq.csv"
    assert rows[0]["message"].startswith("'=")  # spreadsheet formulas defused
    lines = store.export_jsonl(tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["drafts"][0]["text"] == "ok [1]"


def test_promote_writes_a_masked_past_reply_row(tmp_path):
    kb = tmp_path / "kb"
    row = promote_reply(kb, f"能开发票吗？我的电话{PHONE}", f"可以的，发票会发到 {EMAIL}。", mask=mask_pii,
                        keywords="发票, 开票", valid_until="2027-12-31", tags="promoted;feedback-7")
    path = kb / "faq" / "promoted_replies.csv"
    text = path.read_text(encoding="utf-8")
    assert PHONE not in text and EMAIL not in text
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == ["question", "answer", "kind", "keywords", "valid_from", "valid_until", "tags"]
    assert rows[0]["kind"] == "past_reply" and rows[0]["keywords"] == "发票;开票"
    assert rows[0]["valid_until"] == "2027-12-31" and rows[0] == row
    # a second promotion appends; the indexer reads both rows as past replies
    promote_reply(kb, "Do you ship to Tibet?", "Sorry, remote regions are excluded.", mask=mask_pii)
    loaded = load_file(kb, path, 400)
    assert not loaded.problems
    assert [p.kind for p in loaded.passages] == ["past_reply", "past_reply"]


def test_promote_refuses_bad_input(tmp_path):
    with pytest.raises(UserError):
        promote_reply(tmp_path, "", "answer", mask=mask_pii)
    with pytest.raises(UserError):
        promote_reply(tmp_path, "q", "a", mask=mask_pii, valid_from="2027-01-02", valid_until="2027-01-01")
    with pytest.raises(UserError):
        promote_reply(tmp_path, "q", "a", mask=mask_pii, valid_from="next week")


def test_append_keeps_an_existing_header_and_reply_alias(tmp_path):
    path = tmp_path / "faq" / "promoted_replies.csv"
    path.parent.mkdir()
    path.write_text("question,reply,tags", encoding="utf-8")  # no trailing newline
    append_table_row(path, {"question": "Q", "answer": "A", "kind": "past_reply", "tags": "t"})
    assert path.read_text(encoding="utf-8") == "question,reply,tags\nQ,A,t\n"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError):
        append_table_row(path, {"question": "Q", "answer": "A"})
