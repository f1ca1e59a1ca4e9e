"""The words of a customer message worth marking in the source passages, and the marking itself (escaped HTML).

>>> highlight_terms("Free <b>shipping</b> over ¥99", query_terms("Is shipping free?"))
'<mark>Free</mark> &lt;b&gt;<mark>shipping</mark>&lt;/b&gt; over ¥99'
"""
from __future__ import annotations

import html
import re
from typing import Iterable

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
