"""The model's rephrasing: evidence cut to sentences for the prompt, retry instructions by kind of problem."""
from __future__ import annotations

import pytest

from core.settings import ShopProfile
from core.types import Check, Evidence, Hit, Passage
from suggest.rephrase import evidence_hits, fell_back, fix_kind, fix_notes, preservation_checks

SHIP = Hit(Passage("s", "s.md", "Shipping", "Orders over ¥99 ship free; below ¥99 the fee is ¥8. Dispatch in 48 "
                                            "hours."), 0.5)
RET = Hit(Passage("r", "r.md", "Returns", "Opened food cannot be returned."), 0.4)


def test_evidence_hits_keep_only_the_evidence_sentences_in_order_of_use():
    ev = [Evidence("r", "Opened food cannot be returned.", 0.9),
          Evidence("s", "Orders over ¥99 ship free; below ¥99 the fee is ¥8.", 0.8)]
    hits = evidence_hits(ev, [SHIP, RET])
    assert [h.id for h in hits] == ["r", "s"] and "Dispatch" not in hits[1].passage.text
    assert SHIP.passage.text.endswith("48 hours.")  # the hits themselves are not changed
    assert evidence_hits([Evidence("gone", "x", 1.0)], [SHIP]) == []


@pytest.mark.parametrize("name, kind", [
    ("unsupported_fact", "figures"), ("polarity", "negation"), ("unsupported_entity", "names"),
    ("unsupported_offer", "promise"), ("unsupported_promise", "promise"), ("citation", "citation"),
    ("echo", "echo"), ("markup", "markup"), ("off_topic", "general"), ("tone", "general"),
])
def test_fix_kind(name, kind):
    assert fix_kind(name) == kind


@pytest.mark.parametrize("checks, lang, expected", [
    ([Check("unsupported_fact", "error", "“45元” is not backed")], "zh", ["只用资料里的数字（99元、8元），原样照写"]),
    ([Check("unsupported_fact", "error", "“45” is not backed"), Check("unsupported_fact", "error", "“3 days” added")],
     "en",
     ["use only the figures the facts give (¥99, ¥8), exactly as written"]),        # one instruction per kind
    ([Check("polarity", "error", "the passage says cannot"), Check("tone", "warning", "too stiff")], "en",
     ["where the facts say no, cannot or not, say so too, and do not add a no the facts lack"]),
    ([Check("citation", "error", "[5]")], "en", ["cite only the numbers [1] to [1]"]),
    ([Check("tone", "warning", "too stiff")], "en", []),                                     # warnings ask for nothing
])
def test_fix_notes_name_the_kind_never_the_check_text(checks, lang, expected):
    hit = Hit(Passage("z", "z.md", "运费", "满99元包邮，不满收8元。" if lang == "zh" else "Over ¥99 free; else ¥8."), 1)
    notes = fix_notes(checks, [hit], lang)
    assert notes == expected
    assert not any(c.message in n for c in checks for n in notes)


def test_preservation_checks_find_a_changed_figure_once():
    ev = [Evidence("s", "Orders over ¥99 ship free.", 1.0)]
    found = preservation_checks("Orders over ¥45 ship free [1].", ev, "shipping?", "en", ShopProfile())
    assert [c.name for c in found] == ["unsupported_fact"] and "¥99" in found[0].message
    assert preservation_checks("Orders over ¥45 ship free [1].", ev, "shipping?", "en", ShopProfile(), found) == []


def test_fell_back_names_the_failed_checks():
    check = fell_back([Check("polarity", "error", "x"), Check("unsupported_fact", "error", "y")], "en")
    assert check.name == "fell_back" and "polarity; unsupported_fact" in check.message
