"""Unsupported entities: place, product, material, brand, courier and colour names in a draft that no passage, the
customer's message nor the shop profile contains (a city from nowhere, "雾蓝" among two colours, "YTO Express").

Chinese: jieba's name tags (places, person and other proper names), colour compounds (雾 + 蓝) and the listed names
of grounding.yaml. English: capitalised words not at a sentence start, and the listed names.

>>> [(e.text, e.kind) for e in find_entities("我们默认从杭州仓库发圆通快递。", "zh")]
[('杭州', 'place'), ('圆通', 'courier')]
>>> [(e.text, e.kind) for e in find_entities("We ship with YTO Express, and you can reach us on WhatsApp.", "en")]
[('YTO Express', 'courier'), ('WhatsApp', 'brand')]
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Sequence

import jieba.posseg

from core.settings import ShopProfile
from core.types import Check
from suggest.checks.lexicon import lexicon
from suggest.checks.spans import finding
from suggest.checks.texts import say

_WORD = r"[A-Z](?:[A-Za-z0-9&'’-]|\.(?=[A-Za-z]))*"
_CAPITALISED = re.compile(rf"(?<![A-Za-z0-9'’°℃.]){_WORD}(?:\s+(?:of\s+)?{_WORD})*")
_SENTENCE_LEAD = re.compile(r"(?:^|[.!?:;\"“(\n]|\[\d+\])\s*$")
_LATIN = re.compile(r"[A-Za-z]")
_UNIT_BEFORE = re.compile(r"\d\s*$")
_TAG_KIND = {"ns": "place"}
jieba.setLogLevel(logging.WARNING)  # posseg may load the dictionary before index.keyword does; keep it quiet


@dataclass(frozen=True)
class Entity:
    """A name in a text: the words, what kind of name (courier, brand, material, colour, place, name), where."""

    text: str
    kind: str
    start: int
    end: int


def _listed(text: str) -> list[Entity]:
    return [Entity(m.group(), w.kind, m.start(), m.end())
            for w in lexicon().entities for m in w.pattern.finditer(text)]


def _tagged_zh(text: str) -> list[Entity]:
    """Names by jieba's part-of-speech tags, and colour compounds: a short noun + a colour character (雾蓝)."""
    lex = lexicon()
    out, pos, prev = [], 0, None
    for word, flag in jieba.posseg.cut(text):
        start = text.index(word, pos)
        pos = start + len(word)
        if flag in lex.zh_tags and len(word) >= 2:
            out.append(Entity(word, _TAG_KIND.get(flag, "name"), start, pos))
        elif (word in lex.zh_colour_chars and prev is not None and prev[1].startswith("n")
              and len(prev[0]) <= 3 and prev[2] + len(prev[0]) == start):
            out.append(Entity(prev[0] + word, "colour", prev[2], pos))
        prev = (word, flag, start)
    return out


def _capitalised_en(text: str) -> list[Entity]:
    """Capitalised words and phrases that do not start a sentence, less words that are not names (I, OK, May)."""
    skip = lexicon().en_not_names
    out = []
    for m in _CAPITALISED.finditer(text):
        words = m.group().split()
        start = m.start()
        if _SENTENCE_LEAD.search(text[:start]) or _UNIT_BEFORE.search(text[:start]):
            start += len(words[0])
            words = words[1:]
        while words and words[0].lower().strip("'’.") in skip:
            start = text.index(words[1], start + len(words[0])) if len(words) > 1 else m.end()
            words = words[1:]
        if words:
            out.append(Entity(text[start:m.end()], "name", start, m.end()))
    return out


def find_entities(text: str, lang: str) -> list[Entity]:
    """Names in `text`, left to right; a listed name wins over a tagged one at the same place."""
    found = _listed(text) + (_tagged_zh(text) if lang == "zh" else []) + _capitalised_en(text)
    found.sort(key=lambda e: (e.start, -(e.end - e.start), e.kind == "name" or e.kind == "place"))
    kept: list[Entity] = []
    for e in found:
        if kept and e.start < kept[-1].end:
            if e.end > kept[-1].end or (e.kind != "name" and kept[-1].kind == "name"):
                kept[-1] = Entity(text[kept[-1].start:max(e.end, kept[-1].end)],
                                  kept[-1].kind if kept[-1].kind != "name" else e.kind, kept[-1].start,
                                  max(e.end, kept[-1].end))
            continue
        kept.append(e)
    return kept


def _shop_words(shop: ShopProfile | None) -> list[str]:
    if shop is None:
        return []
    return [shop.name, shop.name_zh, shop.persona, shop.persona_zh, shop.greeting, shop.greeting_zh, shop.sign_off,
            shop.sign_off_zh]


def _backed(entity: Entity, support: str) -> bool:
    """Backed when the whole name, or (English) every one of its words, appears in the support text."""
    name = entity.text.lower()
    if name in support:
        return True
    if not _LATIN.search(name):
        return False
    return all(re.search(r"(?<![a-z])" + re.escape(w.strip("'’.")), support) for w in name.split())


def unsupported_entities(draft: str, support_texts: Sequence[str], lang: str,
                         shop: ShopProfile | None = None) -> list[Entity]:
    """The names in `draft` that none of `support_texts` (evidence, message) nor the shop profile contains."""
    support = "\n".join(list(support_texts) + _shop_words(shop)).lower()
    return [e for e in find_entities(draft, lang) if not _backed(e, support)]


def check_unsupported_entities(draft: str, support_texts: Sequence[str], message: str, lang: str,
                               shop: ShopProfile | None = None) -> list[Check]:
    """An error for each name in the draft that the passages, the message and the shop profile lack.

    >>> [c.span for c in check_unsupported_entities("默认发中通快递，从杭州发货。", ["默认发中通快递。"], "发什么快递", "zh")]
    ['杭州']
    """
    checks = []
    for e in unsupported_entities(draft, list(support_texts) + [message], lang, shop):
        text = say("grounding.unsupported_entity", lang, e.text, kind=say(f"entity_kind.{e.kind}", lang))
        checks.append(finding("unsupported_entity", "error", text, draft, e.start, e.end))
    return checks
