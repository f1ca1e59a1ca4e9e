"""Off-topic drafts: the reply answers a different question than the message asks.

Three signs, each only when there is evidence to answer from: the draft declines to answer ("Sorry, I can't help
with that." while a passage covers it); the message asks for a price or a duration, the evidence has one and the
draft gives none (the brewing temperature given as the price); or the draft names none of the message's words
that the evidence has and follows an evidence sentence without them (glaze patterns when asked about the
microwave).

>>> [c.name for c in check_off_topic("加湿器适合多大的房间用", "抱歉，这个问题我暂时没法回答您。", ["适用面积：20-40㎡"], "zh")]
['off_topic']
>>> check_off_topic("这个水壶多少钱", "这款水壶¥129[1]。", ["价格：¥129"], "zh")
[]
"""
from __future__ import annotations

from typing import Sequence

from core.language import split_sentences
from core.types import Check
from suggest.checks.clauses import content_terms
from suggest.checks.facts import extract_facts
from suggest.checks.lexicon import lexicon
from suggest.checks.spans import finding
from suggest.checks.texts import say

# the fact kinds that answer each kind of question in grounding.yaml `asks`
_ANSWER_KINDS = {"amount": ("amount",), "duration": ("duration", "date", "time")}


def _sentences(texts: Sequence[str]) -> list[str]:
    return [s for t in texts for _, _, s in split_sentences(t)]


def _whole(draft: str, name: str, text: str) -> Check:
    return Check(name, "error", text, span=draft.strip(), sentence=draft.strip())


def _refusal(message: str, draft: str, lang: str) -> list[Check]:
    m = lexicon().refusal.search(draft)
    if not m:
        return []
    return [finding("off_topic", "error", say("grounding.off_topic_refusal", lang, m.group()), draft, m.start(),
                    m.end())]


def _missing_kind(message: str, draft: str, sentences: list[str], lang: str) -> list[Check]:
    """The message asks for a price or a duration that the evidence has and the draft does not give."""
    drafted = {f.kind for f in extract_facts(draft)}
    for ask, pattern in lexicon().asks.items():
        if not pattern.search(message):
            continue
        kinds = _ANSWER_KINDS[ask]
        available = [f for s in sentences for f in extract_facts(s) if f.kind in kinds]
        if available and not drafted.intersection(kinds):
            text = say("grounding.off_topic_kind", lang, available[0].span, kind=say(f"ask_kind.{ask}", lang))
            return [_whole(draft, "off_topic", text)]
    return []


def _other_topic(message: str, draft: str, sentences: list[str], lang: str) -> list[Check]:
    """The draft names none of the message's words that the evidence has, and it is closer to the evidence
    sentences without them than to those with them (or shares nothing with the message nor those sentences)."""
    asked, said = content_terms(message), content_terms(draft)
    terms = [content_terms(s) for s in sentences]
    topic = asked & frozenset().union(*terms)
    if not topic or topic & said:
        return []
    on_topic = max((len(t & said) for t in terms if t & topic), default=0)
    off_topic = max((len(t & said) for t in terms if not t & topic), default=0)
    if on_topic < off_topic or (on_topic == 0 and not asked & said):
        return [_whole(draft, "off_topic", say("grounding.off_topic", lang, message.strip()))]
    return []


def check_off_topic(message: str, draft: str, evidence_texts: Sequence[str], lang: str) -> list[Check]:
    """An error when the draft declines or answers another question while the evidence answers this one."""
    sentences = _sentences([t for t in evidence_texts if t.strip()])
    if not sentences or not message.strip():
        return []
    return (_refusal(message, draft, lang) or _missing_kind(message, draft, sentences, lang)
            or _other_topic(message, draft, sentences, lang))
