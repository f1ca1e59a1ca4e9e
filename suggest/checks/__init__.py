"""Checks on customer messages and reply drafts, bilingual (zh/en), pure functions. One module per concern:

    pii.py       personal data: find_pii / mask_pii (phones, e-mail, ID cards, cards, order numbers, addresses)
    numbers.py   numbers and units as written (七天 = 7 days) ...
    facts.py     ... and the checkable figures of a text (extract_facts) and what passages back (Support)
    analysis.py  message analysis: upset, escalation, personal data, planted instructions (analyse_message)
    draft.py     draft checks: check_draft and each check; tone.py holds the tone check
    grounding.py the checks against the evidence and the question (issue 10), one module each: entities.py,
                 polarity.py (on clauses.py), relevance.py (off-topic), offers.py, echo.py, markup.py (plain_text);
                 their word lists in grounding.yaml (lexicon.py)
    preservation.py  fact_preservation: a model rephrasing keeps the evidence's numbers, names and negations
    texts.py     the findings' plain-language texts (texts.yaml)
    spans.py     the sentence and clause around a finding

The word lists and the instruction detector sit in the bottom package (core/rules/, core/instructions.py) because
the index flags planted instructions too.
"""
from core.instructions import INJECTION_FLAGS, detect_instructions
from core.rules import Rules, load_rules
from suggest.checks.analysis import MessageAnalysis, analyse_message, escalation_reasons, upset_reasons
from suggest.checks.draft import (check_draft, check_feelings_first, check_instruction_following, check_pii_echo,
                                  check_promises, check_unsupported_facts)
from suggest.checks.facts import Fact, extract_facts
from suggest.checks.grounding import check_grounding
from suggest.checks.markup import plain_text
from suggest.checks.numbers import parse_number
from suggest.checks.pii import find_pii, id_card_valid, luhn_valid, mask_pii
from suggest.checks.preservation import fact_preservation
from suggest.checks.tone import check_tone

__all__ = [
    "INJECTION_FLAGS", "Fact", "MessageAnalysis", "Rules", "analyse_message", "check_draft", "check_feelings_first",
    "check_grounding", "check_instruction_following", "check_pii_echo", "check_promises", "check_tone",
    "check_unsupported_facts", "detect_instructions", "escalation_reasons", "extract_facts", "fact_preservation",
    "find_pii", "id_card_valid", "load_rules", "luhn_valid", "mask_pii", "parse_number", "plain_text", "upset_reasons",
]
