"""Language detection for customer messages and passages: Chinese ("zh") or English ("en")."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
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
