"""Tests for suggest/checks/texts.py and texts.yaml: every text in both languages, with the same placeholders, and
loud failures for an unknown key or a missing value."""
from __future__ import annotations

import re
import string

import pytest

from suggest.checks.texts import say, texts

CJK = re.compile(r"[\u4e00-\u9fff]")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(texts()))
def test_every_text_has_both_languages_with_the_same_placeholders(key):
    entry = texts()[key]
    assert set(entry) == {"zh", "en"}
    assert placeholders(entry["zh"]) == placeholders(entry["en"])
    assert CJK.search(entry["zh"]) and not CJK.search(entry["en"])


@pytest.mark.parametrize("lang, expected", [
    ("zh", "“您可算来了”过于亲昵或卑微，显得不专业。请用礼貌、平实的称呼，如“您好”。"),
    ("en", '"Hey babe" sounds over-familiar or servile. Use a polite, plain form of address.'),
    (None, '"Hey babe" sounds over-familiar or servile. Use a polite, plain form of address.'),
])
def test_say_quotes_the_span_in_the_language(lang, expected):
    assert say("finding.servile", lang, "您可算来了" if lang == "zh" else "Hey babe") == expected


def test_unknown_key_fails_loudly():
    with pytest.raises(LookupError, match="no text 'finding.nope'"):
        say("finding.nope", "en")


def test_missing_value_fails_loudly():
    with pytest.raises(LookupError, match=r"needs a value for \{n\}"):
        say("finding.exclamations", "en", max=2)
