"""The tone check on a draft: servile or over-familiar forms, piles of ! or emoji, blaming the customer, the shop's
banned words and jargon (shop.yaml), SHOUTING. Every finding is a warning named "tone".

>>> [c.span for c in check_tone("亲爱的大人，您可算来了", "zh")]
['亲爱的大人', '您可算来了']
"""
from __future__ import annotations

import re
from typing import Iterable

from core.rules import Rules, compile_entry, load_rules
from core.settings import ShopProfile
from core.types import Check
from suggest.checks.spans import finding
from suggest.checks.texts import say

MAX_EXCLAMATIONS = 2  # more than this many ! in a draft reads as shouting or gushing
MAX_EMOJI = 2  # more than this many emoji reads as unprofessional
SHOUT_MIN_WORDS = 3  # this many consecutive ALL-CAPS words in a draft is shouting

_EXCLAMATION = re.compile("[!！]")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF]")
_SHOUT = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?:[\s,]+[A-Z]{2,}){%d,}(?![A-Za-z])" % (SHOUT_MIN_WORDS - 1))


def check_tone(draft: str, lang: str, rules: Rules | None = None, shop: ShopProfile | None = None) -> list[Check]:
    """Servile/over-familiar forms, too many ! or emoji, blaming the customer, banned words, jargon, SHOUTING."""
    rules = rules or load_rules()
    checks = [_tone("servile", lang, draft, m) for _, m in rules.find("servile", draft)]
    checks += [_tone("blame", lang, draft, m) for _, m in rules.find("blame", draft)]
    checks += _too_many(draft, lang, _EXCLAMATION, MAX_EXCLAMATIONS, "exclamations")
    checks += _too_many(draft, lang, _EMOJI, MAX_EMOJI, "emoji")
    checks += [_tone("shouting", lang, draft, m) for m in _SHOUT.finditer(draft)]
    if shop is not None:
        checks += _shop_words(draft, lang, shop.banned_words, "banned")
        checks += _shop_words(draft, lang, shop.jargon, "jargon")
    return checks


def _tone(key: str, lang: str, draft: str, m: re.Match[str]) -> Check:
    return finding("tone", "warning", say(f"finding.{key}", lang, m.group()), draft, m.start(), m.end())


def _too_many(draft: str, lang: str, pattern: re.Pattern[str], limit: int, key: str) -> list[Check]:
    """One finding, at the first item over `limit`, when the draft has more than `limit` matches."""
    found = list(pattern.finditer(draft))
    if len(found) <= limit:
        return []
    first_over = found[limit]
    text = say(f"finding.{key}", lang, n=len(found), max=limit)
    return [finding("tone", "warning", text, draft, first_over.start(), first_over.end())]


def _shop_words(draft: str, lang: str, words: Iterable[str], key: str) -> list[Check]:
    """The first use of each of the shop's words (matched like a word-list entry)."""
    checks = []
    for word in (w for w in words if w and w.strip()):
        m = compile_entry(word.strip(), "shop.yaml").search(draft)
        if m:
            checks.append(_tone(key, lang, draft, m))
    return checks
