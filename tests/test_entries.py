"""Knowledge-entry validation: one set of rules for the loaders, the knowledge view and promote."""
import pytest

from core.errors import KnowledgeError, UserError
from index.entries import EntryMeta, parse_date, split_list, validate_meta


@pytest.mark.parametrize("value, expected", [
    (None, []),
    ("", []),
    ("双11;快递慢", ["双11", "快递慢"]),
    (" a ; b；c, d，e ;; ", ["a", "b", "c", "d", "e"]),
    (["x", " y ", ""], ["x", "y"]),
    (("t",), ["t"]),
])
def test_split_list(value, expected):
    assert split_list(value) == expected


@pytest.mark.parametrize("raw, default_kind, expected", [
    ({}, "doc", EntryMeta("doc")),
    ({"kind": "faq", "keywords": "a;b", "tags": ["x"]}, "doc", EntryMeta("faq", ["a", "b"], ["x"])),
    ({"valid_from": "2026-01-02", "valid_until": "2026-01-02"}, "faq",
     EntryMeta("faq", valid_from="2026-01-02", valid_until="2026-01-02")),
    ({"kind": "emergency", "keywords": "sale"}, "faq", EntryMeta("emergency", ["sale"])),
    ({"kind": " ", "valid_until": ""}, "past_reply", EntryMeta("past_reply")),
])
def test_valid_meta(raw, default_kind, expected):
    assert validate_meta(raw, default_kind) == expected


@pytest.mark.parametrize("raw, message", [
    ({"kind": "banana"}, "unknown kind 'banana' (valid: doc, faq, past_reply, emergency, greeting)"),
    ({"valid_from": "2026-13-01"}, "bad date '2026-13-01' in valid_from (use YYYY-MM-DD)"),
    ({"valid_until": "next week"}, "bad date 'next week' in valid_until (use YYYY-MM-DD)"),
    ({"valid_from": "2026-12-01", "valid_until": "2026-11-01"},
     "valid_from 2026-12-01 is after valid_until 2026-11-01"),
    ({"kind": "emergency"}, "an emergency entry needs keywords (';'-separated) to be matched by"),
])
def test_invalid_meta_is_a_knowledge_error(raw, message):
    with pytest.raises(KnowledgeError) as e:
        validate_meta(raw, "faq")
    assert str(e.value) == message and isinstance(e.value, UserError)


def test_row_cells_for_csv_tables():
    meta = validate_meta({"kind": "emergency", "keywords": "a，b", "valid_until": "2026-01-02"},
                         "faq")
    assert meta.row() == {"kind": "emergency", "keywords": "a;b", "tags": "", "valid_from": "",
                          "valid_until": "2026-01-02"}


def test_parse_date_names_the_field():
    assert parse_date(" 2026-02-01 ", "valid_from") == "2026-02-01"
    with pytest.raises(KnowledgeError, match="in valid_until of the front matter"):
        parse_date("2026-02-30", "valid_until of the front matter")
