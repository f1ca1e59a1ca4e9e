"""The editable word lists the checks match against: one `.txt` file per list in this folder (format in
README.txt beside them); a shop adds lines with its own `rules/` folder (`load_rules(extra_dir)`).

>>> [m.group() for _, m in load_rules().find("upset", "太差了，垃圾！")]
['太差', '垃圾']
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable

from core.errors import UserError

RULES_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Rule:
    """One entry of a word list: the line as written, its compiled pattern and (promise.txt) what backs it."""

    source: str
    pattern: re.Pattern[str]
    backing: tuple[str, ...] = ()


def find_matches(rules: Iterable[Rule], text: str) -> list[tuple[Rule, re.Match[str]]]:
    """Non-overlapping matches of any of `rules` in `text`, left to right (the longest wins at a position)."""
    found = [(rule, m) for rule in rules for m in rule.pattern.finditer(text) if m.group()]
    found.sort(key=lambda rm: (rm[1].start(), -(rm[1].end() - rm[1].start())))
    kept: list[tuple[Rule, re.Match[str]]] = []
    for rule, m in found:
        if not kept or m.start() >= kept[-1][1].end():
            kept.append((rule, m))
    return kept


@dataclass(frozen=True)
class Rules:
    """All word lists, one tuple of `Rule` per file in `core/rules/` (file name = field name + ".txt")."""

    servile: tuple[Rule, ...] = ()
    blame: tuple[Rule, ...] = ()
    promise: tuple[Rule, ...] = ()
    acknowledge: tuple[Rule, ...] = ()
    upset: tuple[Rule, ...] = ()
    complaint: tuple[Rule, ...] = ()
    escalation_legal: tuple[Rule, ...] = ()
    escalation_safety: tuple[Rule, ...] = ()
    escalation_human: tuple[Rule, ...] = ()
    escalation_repeat: tuple[Rule, ...] = ()
    escalation_fraud: tuple[Rule, ...] = ()
    escalation_business: tuple[Rule, ...] = ()
    escalation_compliance: tuple[Rule, ...] = ()
    negation: tuple[Rule, ...] = ()
    conditional: tuple[Rule, ...] = ()
    abuse: tuple[Rule, ...] = ()
    injection: tuple[Rule, ...] = ()
    instruction_addressee: tuple[Rule, ...] = ()
    instruction_payload: tuple[Rule, ...] = ()
    instruction_limit: tuple[Rule, ...] = ()
    instruction_action: tuple[Rule, ...] = ()
    instruction_say: tuple[Rule, ...] = ()
    hypothetical: tuple[Rule, ...] = ()
    greeting: tuple[Rule, ...] = ()

    def find(self, name: str, text: str) -> list[tuple[Rule, re.Match[str]]]:
        """Non-overlapping matches of list `name` in `text`, left to right (the longest wins at a position)."""
        return find_matches(getattr(self, name), text)

    def starts_with(self, name: str, text: str) -> bool:
        """True when an entry of list `name` matches at the very start of `text`.

        >>> rules = load_rules()
        >>> rules.starts_with("greeting", "Hello, it ships today."), rules.starts_with("greeting", "His order")
        (True, False)
        """
        hits = self.find(name, text)
        return bool(hits) and hits[0][1].start() == 0

    def first(self, name: str, text: str) -> str:
        """The first matching text of list `name` in `text`, or "" (e.g. `first("escalation_legal", m)`)."""
        hits = self.find(name, text)
        return hits[0][1].group() if hits else ""


RULE_NAMES = tuple(f.name for f in fields(Rules))
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


def compile_entry(entry: str, where: str) -> re.Pattern[str]:
    """`re:` entries are regexes; literal entries match case-insensitively, whole words when they are ASCII-edged.

    >>> bool(compile_entry("sue", "x").search("an issue")), bool(compile_entry("sue", "x").search("we sue"))
    (False, True)
    """
    if entry.startswith("re:"):
        try:
            return re.compile(entry[3:], re.IGNORECASE)
        except re.error as e:
            raise UserError(f"{where}: bad regular expression {entry[3:]!r} ({e}); fix or remove the line")
    body = r"\s+".join(re.escape(part) for part in entry.split())
    if _ASCII_WORD.match(entry[0]):
        body = r"(?<![A-Za-z0-9])" + body
    if _ASCII_WORD.match(entry[-1]):
        body += r"(?![A-Za-z0-9])"
    return re.compile(body, re.IGNORECASE)


def _parse_rule_file(path: Path) -> list[Rule]:
    """The entries of one word-list file (blank lines and `#` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the word list as UTF-8")
    rules = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, backing = line.partition(" => ")
        entry = entry.strip()
        pattern = compile_entry(entry, f"{path}:{number}")
        backs = tuple(b.strip() for b in backing.split("|") if b.strip())
        rules.append(Rule(entry, pattern, backs))
    return rules


def _rules_signature(extra_dir: Path | None) -> tuple:
    """What the cache depends on: the folders and the modification times of their rule files."""
    dirs = [RULES_DIR] + ([extra_dir] if extra_dir else [])
    sig = []
    for d in dirs:
        for name in RULE_NAMES:
            p = d / f"{name}.txt"
            sig.append((str(p), p.stat().st_mtime_ns if p.is_file() else 0))
    return tuple(sig)


@functools.lru_cache(maxsize=16)
def _load_rules_cached(extra_dir: str, signature: tuple) -> Rules:
    dirs = [RULES_DIR] + ([Path(extra_dir)] if extra_dir else [])
    lists: dict[str, tuple[Rule, ...]] = {}
    for name in RULE_NAMES:
        entries: list[Rule] = []
        for d in dirs:
            path = d / f"{name}.txt"
            if path.is_file():
                entries.extend(_parse_rule_file(path))
        lists[name] = tuple(entries)
    return Rules(**lists)


def load_rules(extra_dir: Path | str | None = None) -> Rules:
    """The bundled word lists plus the lines of a shop's own `rules/` folder (files of the same names), cached.

    >>> "投诉" in [r.source for r in load_rules().upset]
    True
    """
    extra = Path(extra_dir) if extra_dir else None
    if extra is not None and not extra.is_dir():
        raise UserError(f"rules folder {extra} does not exist; create it or leave it out")
    return _load_rules_cached(str(extra or ""), _rules_signature(extra))
