"""The composed draft: a reply built from the evidence sentences and the shop's templates, no model, at once.

    opener (an acknowledgement when the customer is upset, else the shop greeting on first contact)
    + the evidence sentences, lightly adapted (a stored answer's own greeting dropped, the customer as 您/you,
      list marks and markdown removed, a repeated sentence dropped)
    + the next step + the sign-off

The templates are `prompts/compose_*.{lang}.txt` and `prompts/check_back.{lang}.txt` (the honest "let me check"
reply when nothing clears the confidence).

>>> adapt_sentence("亲，顾客可以在签收后7天内申请退货", "zh")
'您可以在签收后7天内申请退货。'
>>> adapt_sentence("Hi there! Customers can return unused items within 7 days", "en")
'You can return unused items within 7 days.'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from core.rules import Rules, load_rules
from core.settings import ShopProfile
from core.types import Check, Draft, Evidence
from suggest.checks.texts import say
from suggest.prompting import prompt_lang, render

_AFTER_GREETING = re.compile(r"^[\s,，~～!！.。、:：]*")
_MARKDOWN = re.compile(r"^\s*(?:#+\s*|[-*•]\s+|\d+[.、)]\s+)|\*\*|__|`")
_END = re.compile(r"[。！？!?.…]$")
_ZH_CUSTOMER = re.compile(r"(?:(?:顾客|客户|买家|用户)(?![端服名中号])|你(?!们))")
_EN_CUSTOMERS = (  # (pattern, replacement): the customer spoken to as "you"
    (re.compile(r"\b(?:the )?customers?(?:'s|')", re.IGNORECASE), "your"),
    (re.compile(r"\b(?:the )?customers?\b", re.IGNORECASE), "you"),
)
_EN_AGREE = ((re.compile(r"\byou is\b"), "you are"), (re.compile(r"\byou has\b"), "you have"),
             (re.compile(r"\byou was\b"), "you were"), (re.compile(r"\byou does\b"), "you do"),
             (re.compile(r"\byou needs\b"), "you need"))


@dataclass(frozen=True)
class Opening:
    """How the reply opens: with an acknowledgement (upset customer) or the shop greeting (first contact)."""

    upset: bool = False
    first_contact: bool = True


def strip_greeting(text: str, rules: Rules | None = None) -> str:
    """`text` without the greeting words it opens with (您好，/ 亲~ / Hi there!).

    >>> strip_greeting("您好，亲，可以开发票"), strip_greeting("Hello! Yes, we do."), strip_greeting("His order")
    ('可以开发票', 'Yes, we do.', 'His order')
    """
    rules = rules or load_rules()
    while True:
        found = rules.find("greeting", text)
        if not found or found[0][1].start() != 0:
            return text
        rest = text[found[0][1].end():]
        gap = _AFTER_GREETING.match(rest).end()
        if not gap and rest:  # 亲自… : a greeting word must stand apart
            return text
        text = rest[gap:]


def to_customer(sentence: str, lang: str) -> str:
    """The customer spoken to directly: 顾客/客户/你 → 您; "the customer(s)" → "you", "customer's" → "your".

    >>> to_customer("顾客签收后7天内可退，你可以联系客服", "zh")
    '您签收后7天内可退，您可以联系客服'
    >>> to_customer("The customer's order ships once the customer has paid.", "en")
    'Your order ships once you have paid.'
    """
    if lang == "zh":
        return _ZH_CUSTOMER.sub("您", sentence)
    for pattern, word in _EN_CUSTOMERS:
        sentence = pattern.sub(lambda m, w=word: w.capitalize() if m.group()[0].isupper() else w, sentence)
    for pattern, fixed in _EN_AGREE:
        sentence = pattern.sub(fixed, sentence)
    return sentence


def adapt_sentence(sentence: str, lang: str, rules: Rules | None = None) -> str:
    """One evidence sentence as said to the customer: greeting and markdown dropped, 您/you, a closing stop."""
    text = _MARKDOWN.sub("", strip_greeting(sentence.strip(), rules)).strip()
    text = to_customer(text, lang)
    if not text:
        return ""
    if lang != "zh":
        text = text[0].upper() + text[1:]
    return text if _END.search(text) else text + ("。" if lang == "zh" else ".")


def _join(parts: Sequence[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def opener(opening: Opening, lang: str, shop: ShopProfile) -> str:
    """The first sentence: an acknowledgement first for an upset customer, the shop greeting on first contact."""
    lang = prompt_lang(lang)
    if opening.upset:
        return render(f"compose_sorry.{lang}").strip()
    if opening.first_contact:
        return render(f"compose_hello.{lang}", shop_name=shop.get("name", lang)).strip()
    return ""


def body(evidence: Sequence[Evidence], lang: str, rules: Rules | None = None) -> list[str]:
    """The evidence sentences adapted, in order, each said once."""
    out: list[str] = []
    for e in evidence:
        text = adapt_sentence(e.sentence, lang, rules)
        if text and text not in out:
            out.append(text)
    return out


def compose_reply(evidence: Sequence[Evidence], lang: str, shop: ShopProfile, opening: Opening = Opening(),
                  rules: Rules | None = None) -> Draft:
    """The composed draft (origin "composed") citing exactly the passages of its evidence."""
    lang = prompt_lang(lang)
    parts = [opener(opening, lang, shop), *body(evidence, lang, rules), render(f"compose_next.{lang}").strip(),
             shop.get("sign_off", lang) or ""]
    citations = list(dict.fromkeys(e.hit_id for e in evidence))
    return Draft(text=_join(parts, lang), citations=citations, origin="composed")


def check_back_reply(lang: str, shop: ShopProfile, opening: Opening = Opening()) -> Draft:
    """The honest "let me check and come back to you" reply (origin "holding") when nothing in the knowledge
    base clears the confidence; the agent is told so in a `not_in_knowledge_base` check."""
    lang = prompt_lang(lang)
    parts = [opener(opening, lang, shop), render(f"check_back.{lang}").strip(), shop.get("sign_off", lang) or ""]
    return Draft(text=_join(parts, lang), origin="holding",
                 checks=[Check("not_in_knowledge_base", "warning", say("draft.not_in_knowledge_base", lang))])
