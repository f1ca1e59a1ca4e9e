"""The UI texts in Chinese and English, read once from `texts.json` (one table per language, the same keys in
both; a list value is a set of choices).

>>> t("zh", "accepted", id=3, dist=0)
'已采纳，记录为反馈 #3（修改距离 0）。回复已复制到剪贴板。'
>>> choices("en", "reject_reasons")[0]
'Wrong or missing facts'
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LANGS = ("en", "zh")
DEFAULT_LANG = "en"  # the page opens in English until a message or the switch says otherwise
TEXTS_FILE = Path(__file__).with_name("texts.json")


def load_texts(path: Path = TEXTS_FILE) -> dict[str, dict[str, str | list[str]]]:
    """The tables of `path`; a language missing or a key present in one language only is a ValueError."""
    tables = json.loads(path.read_text(encoding="utf-8"))
    if sorted(tables) != sorted(LANGS):
        raise ValueError(f"{path.name}: expected the languages {LANGS}, found {sorted(tables)}")
    en, zh = set(tables["en"]), set(tables["zh"])
    if en != zh:
        raise ValueError(f"{path.name}: keys in one language only: {sorted(en ^ zh)}")
    return tables


TEXTS = load_texts()


def t(lang: str, key: str, **kw: Any) -> str:
    """The text `key` in `lang`, with `{name}` fields filled from `kw`; an unknown language or key is a KeyError."""
    text = TEXTS[lang][key]
    if not isinstance(text, str):
        raise KeyError(f"UI text {key!r} is a list of choices; use choices()")
    return text.format(**kw) if kw else text


def choices(lang: str, key: str) -> list[str]:
    """The list of choices `key` in `lang` (e.g. the reasons for rejecting a draft)."""
    value = TEXTS[lang][key]
    if not isinstance(value, list):
        raise KeyError(f"UI text {key!r} is not a list of choices")
    return list(value)
