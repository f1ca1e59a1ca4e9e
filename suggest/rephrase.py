"""The model rephrases the evidence: its prompt carries the evidence sentences (not whole passages) and the
question; a draft that fails a check is written once more with instructions that name the kind of problem, never
the check's own text (a small model copies what it is shown into the reply).

>>> from core.types import Passage
>>> h = Hit(Passage("a", "a.md", "Shipping", "Free over ¥99. Remote regions excluded. Ships in 48h."), 0.5)
>>> [x.passage.text for x in evidence_hits([Evidence("a", "Free over ¥99.", 0.9)], [h])]
['Free over ¥99.']
>>> fix_kind("unsupported_fact"), fix_kind("polarity"), fix_kind("tone")
('figures', 'negation', 'general')
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from core.types import Check, Evidence, Hit
from core.settings import ShopProfile
from suggest.checks import extract_facts, fact_preservation
from suggest.checks.texts import say
from suggest.prompting import prompt_lang, render

# A check name containing one of these words → the kind of fix the retry prompt asks for (first match wins).
FIX_KINDS = (("citation", "citation"), ("number", "figures"), ("fact", "figures"), ("polarity", "negation"),
             ("negation", "negation"), ("entit", "names"), ("promise", "promise"), ("offer", "promise"),
             ("echo", "echo"), ("markup", "markup"))
LIST_SEP = {"zh": "；", "en": "; "}


def evidence_hits(evidence: Sequence[Evidence], hits: Sequence[Hit]) -> list[Hit]:
    """The hits the evidence comes from, in order of first use, each passage cut down to its evidence sentences:
    what the model is shown and may cite as [1]..[n]."""
    by_id = {h.id: h for h in hits}
    sentences: dict[str, list[str]] = {}
    for e in evidence:
        if e.hit_id in by_id:
            sentences.setdefault(e.hit_id, []).append(e.sentence)
    return [replace(by_id[i], passage=replace(by_id[i].passage, text=" ".join(s))) for i, s in sentences.items()]


def fix_kind(check_name: str) -> str:
    """The kind of fix a failing check asks for: figures, negation, names, promise, citation, echo, markup or
    general (prompts/fix_<kind>.<lang>.txt)."""
    return next((kind for word, kind in FIX_KINDS if word in check_name), "general")


def fix_notes(checks: Sequence[Check], prompt_hits: Sequence[Hit], lang: str) -> list[str]:
    """What the retry prompt asks for, one instruction per kind of error finding, in the reply language
    (e.g. "use only the figures the facts give (¥99, ¥8), exactly as written")."""
    lang = prompt_lang(lang)
    kinds = dict.fromkeys(fix_kind(c.name) for c in checks if c.severity == "error")
    notes = []
    for kind in kinds:
        if kind == "figures":
            figures = _figures(prompt_hits)
            kind = "figures" if figures else "general"
            notes.append(render(f"fix_{kind}.{lang}", figures="、".join(figures) if lang == "zh" else ", ".join(figures)))
        elif kind == "citation":
            notes.append(render(f"fix_citation.{lang}", n=len(prompt_hits)))
        else:
            notes.append(render(f"fix_{kind}.{lang}"))
    return list(dict.fromkeys(n.strip() for n in notes))


def preservation_checks(draft: str, evidence: Sequence[Evidence], message: str, lang: str, shop: ShopProfile,
                        already: Sequence[Check] = ()) -> list[Check]:
    """`fact_preservation` of the draft against the evidence sentences, without findings `already` made on the
    same span under the same name."""
    seen = {(c.name, c.span) for c in already}
    found = fact_preservation(draft, [e.sentence for e in evidence], message, lang, shop)
    return [c for c in found if (c.name, c.span) not in seen]


def _figures(hits: Sequence[Hit]) -> list[str]:
    return list(dict.fromkeys(f.span for h in hits for f in extract_facts(h.passage.text)))


def fell_back(checks: Sequence[Check], lang: str) -> Check:
    """The finding shown on a model draft that still fails after its retry: the composed draft stays first."""
    names = list(dict.fromkeys(c.name for c in checks if c.severity == "error"))
    return Check("fell_back", "warning", say("draft.fell_back", lang, problems=LIST_SEP[prompt_lang(lang)].join(names)))
