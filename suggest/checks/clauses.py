"""Clauses of a text with their content words and whether they deny something, for comparing a draft with the
evidence clause by clause (polarity.py, relevance.py).

>>> [(c.text, c.negated, sorted(c.terms)) for c in clauses("暂不支持货到付款，也不支持线下转账。")]
[('暂不支持货到付款', True, ['付款', '货到付款']), ('也不支持线下转账', True, ['线下', '转账'])]
>>> [(c.text, c.negated, c.answer) for c in clauses("No need to worry! Yes, it does.")]
[('No need to worry', False, False), ('Yes', False, True), ('it does', False, False)]
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.language import is_cjk, split_sentences
from index.keyword import tokenize
from suggest.checks.lexicon import lexicon

_CLAUSE_SEP = re.compile(r"[，,。！？!?；;：:\n～~]|\s[–—-]\s|[–—]|\s(?:and|but|then)\s")
_ASCII_WORD = re.compile(r"[a-z][a-z-]*[a-z]")
_SUFFIXES = ("ing", "ed", "es", "e", "s")  # "soaking" / "soak", "changed" / "change" meet on one root
_CITATION = re.compile(r"\[\^?\d+(?:\s*[,，]\s*\d+)*\]|【\d+】")
_EDGE_CHARS = " \t\"'“”‘’()（）.…"


@dataclass(frozen=True)
class Clause:
    """One clause: its text and place, its content words, and its polarity.

    `negated` is None for a consequence ("以免开裂", "or it may crack") that states no rule of its own. `answer`
    marks a bare yes/no answer ("可以的", "Yes", "Sorry, it doesn't"): it has no content words of its own and
    answers the message.
    """

    text: str
    start: int
    end: int
    terms: frozenset[str]
    negated: bool | None
    answer: bool = False


def content_terms(text: str) -> frozenset[str]:
    """The words that say what a text is about: keyword tokens less predicates, fillers and single Chinese characters.

    >>> content_terms("Do you ship the kettles to Tibet? [1]") == content_terms("kettle ship tibet")
    True
    """
    light = lexicon().light_words
    out = set()
    for token in tokenize(_CITATION.sub(" ", text)):
        parts = [token] + (token.split("-") if "-" in token else [])  # "microwave-safe" is about the microwave
        out.update(_root(p) for p in parts if p and p not in light and "'" not in p and not (len(p) == 1 and is_cjk(p)))
    return frozenset(out)


def _root(word: str) -> str:
    """English words lose one common suffix so that inflections meet; other tokens stay as they are."""
    if _ASCII_WORD.fullmatch(word):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[:-len(suffix)]
    return word


def _blank(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: " " * len(m.group()), text)


def denies(text: str) -> bool:
    """True when `text` carries a negation that is neither an idiom (不用担心, no problem) nor doubled (不是不能).

    >>> denies("目前还不能货到付款"), denies("不用担心，水垢是正常的"), denies("不是不能退"), denies("It isn't available")
    (True, False, False, True)
    """
    lex = lexicon()
    rest = _blank(lex.double_negation, _blank(lex.idioms, text))
    return bool(lex.negation_zh.search(rest) or lex.negation_en.search(rest))


def _prohibits(text: str) -> bool:
    lex = lexicon()
    return bool(lex.prohibit.search(_blank(lex.idioms, text)))


def _pieces(sentence: str, offset: int) -> list[tuple[int, int, str]]:
    """(start, end, text) of the clauses of one sentence, citation markers and edge quotes dropped."""
    out, last = [], 0
    blanked = _blank(_CITATION, sentence)
    for m in list(_CLAUSE_SEP.finditer(blanked)) + [None]:
        end = m.start() if m else len(blanked)
        raw = blanked[last:end]
        lead = len(raw) - len(raw.lstrip(_EDGE_CHARS))
        piece = raw.strip(_EDGE_CHARS)
        if piece:
            out.append((offset + last + lead, offset + last + lead + len(piece), piece))
        last = m.end() if m else len(blanked)
    return out


def _is_yes(piece: str) -> bool:
    return bool(lexicon().yes.search(re.sub(r"[\s!！。.~～]+", "", piece) if is_cjk(piece[0]) else piece.strip()))


def clauses(text: str) -> list[Clause]:
    """The clauses of `text` in order. In English a prohibition ("do not soak it, leave it in the sun…") carries
    over to the list items after it in the same sentence (a Chinese list repeats its 不要 or uses 、).

    >>> [(c.text, c.negated) for c in clauses("Do not soak it, leave it in strong sun or dry it near the hob, "
    ...                                          "or it may crack.")]
    [('Do not soak it', True), ('leave it in strong sun or dry it near the hob', True), ('or it may crack', None)]
    """
    lex = lexicon()
    out: list[Clause] = []
    for s_start, _, sentence in split_sentences(text):
        prohibiting = False
        for start, end, piece in _pieces(sentence, s_start):
            if lex.consequence.search(piece):
                out.append(Clause(piece, start, end, content_terms(piece), None))
                continue
            own = denies(piece)
            inherited = prohibiting and not own and not lex.reset.search(piece) and not is_cjk(piece[0])
            terms = content_terms(piece)
            negated = own or inherited
            answer = not terms and (own or _is_yes(piece))
            out.append(Clause(piece, start, end, terms, negated, answer))
            prohibiting = (own and _prohibits(piece)) or inherited
    return out
