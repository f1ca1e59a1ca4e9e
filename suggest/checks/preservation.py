"""Fact preservation for the model's rephrasing of the evidence (issue 10 item 3): every number, named entity and
negation the draft uses must be in the evidence sentences (or the customer's message); none added or flipped.

The findings name the difference in plain words ("the evidence says ¥99, the draft says $45"), so the pipeline
can regenerate once naming the problem, and otherwise fall back to the composed draft.

>>> [c.message for c in fact_preservation("满45元包邮[1]。", ["全店实付满 ¥99 包邮；不满 ¥99 运费 ¥8。"], "包邮吗", "zh")]
['资料说“¥99”，回复却说“45元”。请按资料改正。']
"""
from __future__ import annotations

from typing import Sequence

from core.language import detect_language
from core.settings import ShopProfile
from core.types import Check
from suggest.checks.entities import check_unsupported_entities
from suggest.checks.facts import Fact, Support, extract_facts
from suggest.checks.polarity import check_polarity
from suggest.checks.spans import finding
from suggest.checks.texts import quote, say


def _counterpart(fact: Fact, evidence_facts: list[Fact], drafted: Support) -> Fact | None:
    """The evidence figure the draft most likely changed: same unit class first, then same kind; one the draft
    does not already state is preferred."""
    for same in (lambda f: f.cls == fact.cls, lambda f: f.kind == fact.kind):
        candidates = [f for f in evidence_facts if same(f)]
        if candidates:
            unused = [f for f in candidates if not drafted.backs(f)]
            return (unused or candidates)[0]
    return None


def check_changed_facts(draft: str, evidence_sentences: Sequence[str], message: str, lang: str) -> list[Check]:
    """An error for each figure of the draft the evidence and message lack, naming the evidence figure it replaces.

    >>> [c.message for c in check_changed_facts("It ships within 2 working days.", ["Ships within 4 working days."],
    ...                                         "", "en")]
    ['The evidence says "4 working days", the draft says "2 working days". Use the figure from the evidence.']
    """
    support = Support.of(list(evidence_sentences) + [message])
    evidence_facts = [f for s in evidence_sentences for f in extract_facts(s)]
    draft_facts = extract_facts(draft)
    drafted = Support.of([draft])
    checks = []
    for fact in draft_facts:
        if support.backs(fact):
            continue
        was = _counterpart(fact, evidence_facts, drafted)
        if was is None:
            text = say("grounding.added_fact", lang, fact.span, kind=say(f"fact_kind.{fact.kind}", lang))
        else:
            text = say("grounding.changed_fact", lang, fact.span, evidence=quote(was.span, lang))
        checks.append(finding("unsupported_fact", "error", text, draft, fact.start, fact.end))
    return checks


def fact_preservation(draft: str, evidence_sentences: Sequence[str], message: str, lang: str | None = None,
                      shop: ShopProfile | None = None) -> list[Check]:
    """Numbers changed or added, names the evidence lacks, negations flipped: an empty list means the rephrasing
    kept the evidence's facts."""
    lang = lang or detect_language(draft)
    checks = check_changed_facts(draft, evidence_sentences, message, lang)
    checks += check_unsupported_entities(draft, evidence_sentences, message, lang, shop)
    checks += check_polarity(draft, evidence_sentences, message, lang)
    return sorted(checks, key=lambda c: draft.find(c.span))
