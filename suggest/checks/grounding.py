"""The checks that compare a draft with its evidence and its question (issue 10), run together by `check_draft`:

    name                severity  what it catches                                                  module
    unsupported_entity  error     a place, product, material, brand, courier or colour name        entities.py
                                  no passage, the message nor the shop profile has
    polarity            error     the evidence says 不能/cannot and the draft affirms, or reverse  polarity.py
    off_topic           error     a refusal or an answer to another question                       relevance.py
    unsupported_offer   error     a gift, discount, coupon, refund or compensation no passage      offers.py
                                  grants
    echo                error     prompt, check or meta text in the reply                          echo.py
    markup              error     HTML, comments or markdown in a plain-text reply                 markup.py

>>> [c.name for c in check_grounding("能退吗", "可以退，另外送您一个杯垫。", ["七天内可以退货。"], "zh")]
['unsupported_offer']
"""
from __future__ import annotations

from typing import Sequence

from core.settings import ShopProfile
from core.types import Check
from suggest.checks.echo import check_echo
from suggest.checks.entities import check_unsupported_entities
from suggest.checks.markup import check_markup
from suggest.checks.offers import check_unsupported_offers
from suggest.checks.polarity import check_polarity
from suggest.checks.relevance import check_off_topic


def check_grounding(message: str, draft: str, support_texts: Sequence[str], lang: str,
                    shop: ShopProfile | None = None, flagged: Sequence[bool] | None = None) -> list[Check]:
    """Every grounding check; `flagged[i]` marks support_texts[i] as planted instructions, which grant no offer."""
    flagged = list(flagged or [])
    clean = [t for i, t in enumerate(support_texts) if not (i < len(flagged) and flagged[i])]
    checks = check_unsupported_entities(draft, support_texts, message, lang, shop)
    checks += check_polarity(draft, support_texts, message, lang)
    checks += check_off_topic(message, draft, support_texts, lang)
    checks += check_unsupported_offers(draft, clean, lang)
    checks += check_echo(draft, lang, shop)
    checks += check_markup(draft, lang)
    return checks
