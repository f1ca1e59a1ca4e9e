"""Message analysis: is the customer upset, should a person take over, what personal data and planted
instructions does the message carry. Reasons are plain words in the message's language (texts.yaml); the word
lists are in core/rules/.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Sequence

from core.instructions import detect_instructions
from core.language import detect_language
from core.rules import Rules, load_rules
from suggest.checks.pii import find_pii
from suggest.checks.spans import clause_at, clause_before
from suggest.checks.texts import lang_of, say

CAPS_MIN_LETTERS = 10  # a message needs this many Latin letters before its capitals count as shouting
CAPS_RATIO = 0.7  # share of capital letters above which a message is "mostly capitals"
REPEATED_PUNCT_MIN = 3  # "!!!" / "？？？": this many ! or ? in a row shows an upset customer
HISTORY_COMPLAINTS_ESCALATE = 2  # this many earlier complaints in the conversation → a person takes over

_LATIN = re.compile(r"[A-Za-z]")
_REPEATED_PUNCT = re.compile(r"[!！?？]{%d,}" % REPEATED_PUNCT_MIN)


@dataclass(frozen=True)
class MessageAnalysis:
    """What `analyse_message` found in one customer message; reasons are plain words in its language `lang`."""

    lang: str
    upset: bool = False
    upset_reasons: list[str] = field(default_factory=list)
    escalate: bool = False  # a person should take over: never draft a promise-laden answer
    escalation_reasons: list[str] = field(default_factory=list)
    pii: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) as `find_pii` gives them
    injection: bool = False  # the message tries to instruct the assistant


def _mostly_capitals(text: str) -> bool:
    letters = _LATIN.findall(text)
    if len(letters) < CAPS_MIN_LETTERS:
        return False
    return sum(c.isupper() for c in letters) / len(letters) >= CAPS_RATIO


def upset_reasons(message: str, lang: str, rules: Rules | None = None) -> list[str]:
    """Why the customer seems upset (empty list: calm).

    >>> upset_reasons("太差了！！！", "zh")
    ['用词带有不满情绪（“太差”）', '连续使用标点（“！！！”）']
    """
    rules = rules or load_rules()
    reasons = []
    word = rules.first("upset", message)
    if word:
        reasons.append(say("reason.upset_words", lang, word))
    punct = _REPEATED_PUNCT.search(message)
    if punct:
        reasons.append(say("reason.upset_punct", lang, punct.group()))
    if _mostly_capitals(message):
        reasons.append(say("reason.upset_caps", lang))
    return reasons


def is_complaint(text: str, rules: Rules | None = None) -> bool:
    """A message that reports a problem or sounds upset (used to count earlier complaints in a history)."""
    rules = rules or load_rules()
    return bool(rules.find("complaint", text) or upset_reasons(text, "en", rules))


@functools.lru_cache(maxsize=256)
def _ending(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` anchored to the end of a text (trailing spaces allowed)."""
    return re.compile(rf"(?:{pattern.pattern})\s*$", pattern.flags)


def _negated(text: str, start: int, rules: Rules) -> bool:
    """True when a negation (negation.txt) ends right before text[start:] in the same clause: 不用转人工."""
    before = clause_before(text, start)
    return any(_ending(rule.pattern).search(before) for rule in rules.negation)


def _conditional(text: str, start: int, rules: Rules) -> bool:
    """True when a "what if" marker (conditional.txt) comes earlier in the same clause: 万一以后要找人工."""
    return bool(rules.find("conditional", clause_before(text, start)))


def _safety_report(message: str, rules: Rules) -> str:
    """The first safety word that reports something that happened (not a question, a "what if" or a prevention
    feature)."""
    for _, m in rules.find("escalation_safety", message):
        if _conditional(message, m.start(), rules):
            continue
        clause = clause_at(message, m.start(), m.end())
        reported = message[m.end():m.end() + 1] == "了"  # 烫伤了 / 漏电了: it happened
        if reported or not rules.find("hypothetical", clause):
            return m.group()
    return ""


def _human_request(message: str, rules: Rules) -> str:
    """The first request for a person that is neither negated (不用转人工 / no need for a human) nor hypothetical
    (万一以后要找人工 / if I ever need a supervisor)."""
    for _, m in rules.find("escalation_human", message):
        if not _negated(message, m.start(), rules) and not _conditional(message, m.start(), rules):
            return m.group()
    return ""


_ESCALATION_LISTS = ("escalation_legal", "escalation_safety", "escalation_human", "escalation_repeat", "abuse",
                     "escalation_fraud", "escalation_compliance", "escalation_business")


def escalation_reasons(message: str, history: Sequence[str] | None, lang: str,
                       rules: Rules | None = None) -> list[str]:
    """Why a person should take this conversation over (empty list: the copilot may draft).

    >>> escalation_reasons("再不退款我就打12315投诉！", None, "zh")
    ['提到法律维权或向监管部门投诉（“12315”），请转人工处理']
    """
    rules = rules or load_rules()
    reasons = []
    for name in _ESCALATION_LISTS:
        if name == "escalation_safety":
            word = _safety_report(message, rules)
        elif name == "escalation_human":
            word = _human_request(message, rules)
        else:
            word = rules.first(name, message)
        if word:
            reasons.append(say(f"reason.{name}", lang, word))
    earlier = sum(is_complaint(h, rules) for h in history or ())
    if earlier >= HISTORY_COMPLAINTS_ESCALATE and not rules.first("escalation_repeat", message):
        reasons.append(say("reason.escalation_history", lang, n=earlier))
    return reasons


def analyse_message(message: str, history: list[str] | None = None, lang: str | None = None, *,
                    rules: Rules | None = None) -> MessageAnalysis:
    """Language, upset, escalation, personal data and planted instructions of one customer message.

    >>> a = analyse_message("水壶漏电了，我要转人工！")
    >>> a.lang, a.escalate, a.upset
    ('zh', True, False)
    """
    rules = rules or load_rules()
    lang = lang_of(lang or detect_language(message))
    upset = upset_reasons(message, lang, rules)
    escalation = escalation_reasons(message, history, lang, rules)
    return MessageAnalysis(lang=lang, upset=bool(upset), upset_reasons=upset, escalate=bool(escalation),
                           escalation_reasons=escalation, pii=find_pii(message),
                           injection=detect_instructions(message, rules))
