"""The words of a customer message worth marking in the source passages, the evidence sentences the drafts are
built from, and the marking itself (escaped HTML).

>>> highlight_terms("Free <b>shipping</b> over ¥99", query_terms("Is shipping free?"))
'<mark>Free</mark> &lt;b&gt;<mark>shipping</mark>&lt;/b&gt; over ¥99'
>>> highlight_passage("Hi. Free over ¥99.", [], [Marked("Free over ¥99.", "score 0.83")])
'Hi. <mark class="ev" title="score 0.83">Free over ¥99.</mark>'
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from index.keyword import tokenize

MAX_TERMS = 40
STOPWORDS = frozenset("""a an and any are as at be but by can could did do does for from had has have how i if in
is it its me my no not of ok on or our please should so that the their them then there they this to us was we what
when where which who why will with would you your hi hello thanks thank""".split())


def query_terms(message: str) -> list[str]:
    """Words of the message worth highlighting in the passages (jieba for Chinese; no English stop words)."""
    try:
        words = tokenize(message)
    except Exception:  # noqa: BLE001 - highlighting is cosmetic
        words = []
    words += re.findall(r"[A-Za-z0-9]{3,}", message)
    out = []
    for w in words:
        w = w.strip()
        if len(w) < 2 or w.casefold() in STOPWORDS or (w.isascii() and len(w) < 3):
            continue
        out.append(w)
    return out


def highlight_terms(text: str, terms: Iterable[str]) -> str:
    """Escape `text` and wrap every occurrence of a term in <mark> (case-insensitive). Latin terms match at the
    start of a word only (a stem also marks its longer forms: "clean" marks "cleaning"); Chinese terms anywhere."""
    terms = sorted({x.casefold() for x in terms if x and len(x.strip()) >= 2}, key=len, reverse=True)[:MAX_TERMS]
    if not terms:
        return html.escape(text)
    parts = [rf"(?<![A-Za-z0-9]){re.escape(x)}[A-Za-z]*" if re.fullmatch(r"[A-Za-z0-9'-]+", x) else re.escape(x)
             for x in terms]
    pattern = re.compile("|".join(parts), re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


@dataclass(frozen=True)
class Marked:
    """A piece of text to mark: its CSS class and the title shown on hover ("ev": an evidence sentence the drafts
    are built from; "ev-other": another scored sentence; the draft cards use it for a check's span)."""

    text: str
    title: str
    cls: str = "ev"


def locate(text: str, piece: str) -> tuple[int, int] | None:
    """Where `piece` is in `text`, whitespace aside (evidence sentences are pieces of the passage re-joined).

    >>> locate("Free over ¥99.\\n- Remote  regions pay ¥8.", "- Remote regions pay ¥8.")
    (15, 40)
    >>> locate("满99包邮。\\n偏远地区除外。", "满99包邮。偏远地区除外。"), locate("abc", "xyz")
    ((0, 14), None)
    """
    needle = piece.strip()
    if not needle:
        return None
    at = text.find(needle)
    if at >= 0:
        return at, at + len(needle)
    found = re.search(r"\s*".join(re.escape(c) for c in needle if not c.isspace()), text)
    return (found.start(), found.end()) if found else None


def marked_spans(text: str, marks: Sequence[Marked]) -> list[tuple[int, int, Marked]]:
    """The marks found in `text` as (start, end, mark), in text order; of two that overlap the earlier in `marks`
    is kept."""
    kept: list[tuple[int, int, Marked]] = []
    for m in marks:
        where = locate(text, m.text)
        if where and all(where[1] <= a or where[0] >= b for a, b, _ in kept):
            kept.append((*where, m))
    return sorted(kept, key=lambda x: x[0])


def wrap_marks(text: str, marks: Sequence[Marked], inner: Callable[[str], str]) -> str:
    """`text` as HTML: every piece through `inner` (which escapes it), each mark found wrapped in
    `<mark class=… title=…>`."""
    out, pos = [], 0
    for start, end, m in marked_spans(text, marks):
        out.append(inner(text[pos:start]))
        out.append(f'<mark class="{html.escape(m.cls)}" title="{html.escape(m.title)}">{inner(text[start:end])}</mark>')
        pos = end
    out.append(inner(text[pos:]))
    return "".join(out)


def highlight_passage(text: str, terms: Iterable[str], marks: Sequence[Marked]) -> str:
    """Escape `text`, mark the message's words (as `highlight_terms`) and wrap each sentence of `marks` in it."""
    terms = list(terms)
    return wrap_marks(text, marks, lambda piece: highlight_terms(piece, terms))
