"""Markup in a reply: a reply is plain text, so HTML tags, comments, entities and markdown are errors, and
`plain_text` strips them (passages may carry them into a draft).

>>> plain_text("<p>满 <b>¥99</b> 包邮<!-- internal -->&nbsp;[1]</p>")
'满 ¥99 包邮 [1]'
>>> [c.span for c in check_markup("Free over **¥99** [1].", "en")]
['**¥99**']
"""
from __future__ import annotations

import html
import re

from core.types import Check
from suggest.checks.spans import finding
from suggest.checks.texts import say

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")
_LINK = re.compile(r"!?\[([^\]\n]+)\]\((?:https?://|/|#)[^)\s]*\)")
_FENCE = re.compile(r"```[\w-]*")
_CODE = re.compile(r"`([^`\n]+)`")
_PATTERNS = (_COMMENT, _HIDDEN, _TAG, _ENTITY, _BOLD, _HEADING, _LINK, _FENCE, _CODE)


def plain_text(text: str) -> str:
    """`text` with HTML comments, scripts, tags and entities and markdown emphasis, headings, links and code marks
    removed (the words stay); spaces collapsed. Citation markers such as [1] stay."""
    text = _HIDDEN.sub(" ", _COMMENT.sub(" ", text))
    text = html.unescape(_TAG.sub(" ", text)).replace("\xa0", " ")
    text = _LINK.sub(r"\1", _BOLD.sub(r"\2", text))
    text = _CODE.sub(r"\1", _FENCE.sub(" ", _HEADING.sub("", text)))
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def markup_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each piece of markup in `text`, left to right; the longest wins where pieces overlap."""
    spans = sorted(((m.start(), m.end()) for p in _PATTERNS for m in p.finditer(text) if m.group().strip()),
                   key=lambda span: (span[0], -span[1]))
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def check_markup(draft: str, lang: str) -> list[Check]:
    """An error for each piece of markup in the draft."""
    return [finding("markup", "error", say("grounding.markup", lang, draft[start:end].strip()), draft, start, end)
            for start, end in markup_spans(draft)]
