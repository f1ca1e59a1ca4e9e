"""The checks' bilingual plain-language texts: `texts.yaml` beside this file, read once.

>>> say("finding.blame", "en", span="your fault")
'"your fault" blames the customer. Do not blame; explain the situation and offer a way forward.'
>>> say("reason.escalation_history", "zh", n=2)
'此前已反映问题2次仍未解决，请转人工处理'
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


def lang_of(lang: str | None) -> str:
    """The text language for `lang`: "zh" for Chinese, "en" for anything else."""
    return "zh" if lang == "zh" else "en"


def quote(span: str, lang: str) -> str:
    """`span` in the quotation marks of `lang`."""
    return f"“{span}”" if lang == "zh" else f'"{span}"'


@functools.cache
def texts() -> dict[str, dict[str, str]]:
    """Every text as "section.name" → {"zh": ..., "en": ...}."""
    data = yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))
    return {f"{section}.{name}": entry for section, entries in data.items() for name, entry in entries.items()}


def say(key: str, lang: str | None, span: str | None = None, **values: object) -> str:
    """Text `key` ("section.name") in `lang` with its placeholders filled; `span`, quoted, fills {q}."""
    entry = texts().get(key)
    if entry is None:
        raise LookupError(f"no text {key!r} in {TEXTS_FILE}; add it there")
    lang = lang_of(lang)
    if span is not None:
        values["q"] = quote(span, lang)
    try:
        return entry[lang].format(**values)
    except KeyError as e:
        raise LookupError(f"text {key!r} needs a value for {{{e.args[0]}}}") from None
