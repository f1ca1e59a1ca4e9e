"""The grounding checks' word lists (`grounding.yaml` beside this file), compiled once into a `Lexicon`.

>>> [m.group() for m in lexicon().negation_zh.finditer("暂不支持货到付款")]
['不']
>>> lexicon().entities[0].kind
'courier'
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.rules import Rule, compile_entry

LEXICON_FILE = Path(__file__).with_name("grounding.yaml")


@dataclass(frozen=True)
class EntityWord:
    """One listed name: what kind of name it is and the pattern that finds it."""

    kind: str
    word: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    """Every list of grounding.yaml, compiled (see the comments there for what each is for)."""

    entities: tuple[EntityWord, ...]
    zh_tags: frozenset[str]
    zh_colour_chars: str
    en_not_names: frozenset[str]
    idioms: re.Pattern[str]
    double_negation: re.Pattern[str]
    negation_zh: re.Pattern[str]
    negation_en: re.Pattern[str]
    prohibit: re.Pattern[str]
    reset: re.Pattern[str]
    consequence: re.Pattern[str]
    yes: re.Pattern[str]
    light_words: frozenset[str]
    refusal: re.Pattern[str]
    asks: dict[str, re.Pattern[str]]
    offers: tuple[Rule, ...]
    echo: re.Pattern[str]
    prompt_files: tuple[str, ...]
    min_zh_chars: int
    min_en_words: int


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def _literal_any(words: list[str]) -> re.Pattern[str]:
    return _any([compile_entry(w, str(LEXICON_FILE)).pattern for w in sorted(words, key=len, reverse=True)])


def _offer_rule(line: str) -> Rule:
    entry, _, backing = line.partition(" => ")
    backs = tuple(b.strip().lower() for b in backing.split("|") if b.strip())
    return Rule(entry.strip(), compile_entry(entry.strip(), str(LEXICON_FILE)), backs)


@functools.cache
def lexicon() -> Lexicon:
    """grounding.yaml, compiled (read once)."""
    data = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    ent, neg, echo = data["entity"], data["negation"], data["echo"]
    kinds = ("courier", "brand", "material", "colour")
    return Lexicon(
        entities=tuple(EntityWord(kind, str(w), compile_entry(str(w), str(LEXICON_FILE)))
                       for kind in kinds for w in ent[kind]),
        zh_tags=frozenset(ent["zh_tags"]),
        zh_colour_chars=ent["zh_colour_chars"],
        en_not_names=frozenset(w.lower() for w in ent["en_not_names"]),
        idioms=_literal_any(neg["idioms_zh"] + neg["idioms_en"]),
        double_negation=_any(neg["re_double"]),
        negation_zh=_any(neg["re_zh"]),
        negation_en=_any(neg["re_en"]),
        prohibit=_any(neg["re_prohibit"]),
        reset=_any(neg["re_reset"]),
        consequence=_any(neg["re_skip"]),
        yes=_any(data["answer"]["re_yes"]),
        light_words=frozenset(w.lower() for w in data["light_words"]),
        refusal=_any(data["refusal"]["re"]),
        asks={kind: _any(patterns) for kind, patterns in data["asks"].items()},
        offers=tuple(_offer_rule(line) for line in data["offer"]),
        echo=_any(echo["re"]),
        prompt_files=tuple(echo["prompt_files"]),
        min_zh_chars=int(echo["min_zh_chars"]),
        min_en_words=int(echo["min_en_words"]),
    )
