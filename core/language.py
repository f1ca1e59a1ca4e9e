"""Text helpers shared by indexing, retrieval and checks: language detection (Chinese "zh" or English "en")
and sentence splitting for both languages."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+[”\"'’）)]*|\.(?=\s|$)[”\"'’)]*")
ZH_SHARE = 0.2  # a message is Chinese when CJK characters are at least this share of its letters


def detect_language(text: str) -> str:
    """"zh" when Chinese characters make up a fair share of the letters, else "en".

    >>> detect_language("快递几天能到？"), detect_language("When will my parcel arrive?")
    ('zh', 'en')
    >>> detect_language("我想退 iPhone case")
    'zh'
    """
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0:
        return "en"
    # one English word weighs about as much as two Chinese characters
    return "zh" if cjk / (cjk + 2 * latin_words) >= ZH_SHARE else "en"


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))


def split_sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) for each sentence, ending at 。！？!?；; or a full stop before a space.

    >>> [s for _, _, s in split_sentences("您好！我们7天内发货。Thanks. 1.7L")]
    ['您好！', '我们7天内发货。', 'Thanks.', '1.7L']
    """
    out = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        _append_piece(out, text, start, m.end())
        start = m.end()
    _append_piece(out, text, start, len(text))
    return out


def _append_piece(out: list[tuple[int, int, str]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        out.append((start + lead, start + lead + len(stripped), stripped))
