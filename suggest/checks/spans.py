"""Where a finding sits in a text: its sentence and its clause, and the `Check` that points at it.

>>> finding("tone", "warning", "…", "您好！我们保证今天发货。", 6, 8).sentence
'我们保证今天发货。'
"""
from __future__ import annotations

import re

from core.language import split_sentences
from core.types import Check

_CLAUSE_END = re.compile(r"[，,。！？!?；;、\n]|\.(?=\s|$)")


def sentence_at(text: str, pos: int) -> str:
    """The sentence of `text` that contains character `pos`."""
    for start, end, sentence in split_sentences(text):
        if start <= pos < end:
            return sentence
    return text.strip()


def clause_at(text: str, start: int, end: int) -> str:
    """The clause (between commas or sentence ends) around text[start:end].

    >>> clause_at("水壶漏电了，怎么办？", 2, 4)
    '水壶漏电了'
    """
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right = _CLAUSE_END.search(text, end)
    return text[left:right.start() if right else len(text)]


def clause_before(text: str, start: int) -> str:
    """The part of the clause around `start` that comes before it."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    return text[left:start]


def finding(name: str, severity: str, message: str, text: str, start: int, end: int) -> Check:
    """A `Check` on text[start:end], with the sentence it sits in."""
    return Check(name=name, severity=severity, message=message, span=text[start:end], sentence=sentence_at(text, start))
