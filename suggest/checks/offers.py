"""Unsupported offers: a gift, discount, coupon, refund, compensation, free item or upgrade the draft grants that
no (unflagged) passage grants. A denied offer ("没有赠品", "there is no free gift") grants nothing.

>>> [c.span for c in check_unsupported_offers("另外再送您一只汤勺作为补偿。", ["我们会补发或退款。"], "zh")]
['送您', '补偿']
>>> check_unsupported_offers("Sorry, there is no free gift with the kettle.", ["1 kettle, 1 base."], "en")
[]
"""
from __future__ import annotations

import re
from typing import Sequence

from core.rules import Rule, find_matches
from core.types import Check
from suggest.checks.clauses import denies
from suggest.checks.lexicon import lexicon
from suggest.checks.spans import clause_before, finding
from suggest.checks.texts import say


def find_offers(text: str) -> list[tuple[Rule, re.Match[str]]]:
    """Non-overlapping offer phrases in `text`, left to right (the longest wins at a position)."""
    return find_matches(lexicon().offers, text)


def check_unsupported_offers(draft: str, support_texts: Sequence[str], lang: str) -> list[Check]:
    """An error for each offer in the draft that no support text backs (its backing words are in grounding.yaml)."""
    support = "\n".join(support_texts).lower()
    checks = []
    for rule, m in find_offers(draft):
        if any(b in support for b in rule.backing) or denies(clause_before(draft, m.start())):
            continue
        text = say("grounding.unsupported_offer", lang, m.group())
        checks.append(finding("unsupported_offer", "error", text, draft, m.start(), m.end()))
    return checks
