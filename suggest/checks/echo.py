"""Echo: prompt or check text in a reply ("…在检索到的资料里找不到依据。请删掉…", "Passage [1] says", "As an AI").

Matched against the real texts, not a hand list only: every long enough fragment of the model's prompt files
(prompts/reply, reply_user, retry, tone, upset), of the draft findings' texts (texts.yaml) and of the shop's tone
rules, plus the meta phrases of grounding.yaml. Quoted suggestions inside a finding text ("我帮您核实后再回复您")
are what a good reply says, so they are left out.

>>> [c.span for c in check_echo("保修1年。“2年”（时长）在检索到的资料里找不到依据。请删掉。", "zh")]
['在检索到的资料里找不到依据']
>>> check_echo("I'll check and get back to you shortly.", "en")
[]
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from core.settings import ShopProfile
from core.types import Check
from suggest.checks.lexicon import lexicon
from suggest.checks.spans import finding
from suggest.checks.texts import say, texts
from suggest.prompting import PROMPTS_DIR

_PLACEHOLDER = re.compile(r"\{\w+\}")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_BREAK = re.compile(r"[。！？；：，、,.;:!?()（）\[\]<>\n\-–—]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FINDING_SECTIONS = ("finding.", "grounding.")


def fragments(text: str) -> list[str]:
    """The pieces of a template long enough to be recognised: placeholders and quoted examples cut out.

    >>> fragments("上一版回复有这些问题：{problems}。请重新写，避免这些问题。")
    ['上一版回复有这些问题', '避免这些问题']
    """
    lex = lexicon()
    out = []
    for piece in _BREAK.split(_QUOTED.sub("\n", _PLACEHOLDER.sub("\n", text))):
        piece = " ".join(piece.split())
        if len(_CJK.findall(piece)) >= lex.min_zh_chars or (
                not _CJK.search(piece) and len(piece.split()) >= lex.min_en_words):
            out.append(piece)
    return out


@functools.cache
def _template_pattern(prompts_dir: Path, tone_rules: tuple[str, ...]) -> re.Pattern[str] | None:
    sources = [p.read_text(encoding="utf-8") for name in lexicon().prompt_files
               for p in sorted(prompts_dir.glob(f"{name}.*.txt"))]
    sources += [text for key, entry in texts().items() if key.startswith(_FINDING_SECTIONS) for text in entry.values()]
    sources += list(tone_rules)
    pieces = sorted({f for s in sources for f in fragments(s)}, key=len, reverse=True)
    if not pieces:
        return None
    return re.compile("|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in pieces), re.IGNORECASE)


def check_echo(draft: str, lang: str, shop: ShopProfile | None = None, prompts_dir: Path = PROMPTS_DIR) -> list[Check]:
    """An error for each piece of prompt, check or meta text in the draft."""
    tone_rules = tuple(shop.tone_rules) + tuple(shop.tone_rules_zh) if shop else ()
    pattern = _template_pattern(prompts_dir, tone_rules)
    matches = list(pattern.finditer(draft)) if pattern else []
    matches += [m for m in lexicon().echo.finditer(draft) if all(m.end() <= o.start() or m.start() >= o.end()
                                                                 for o in matches)]
    return [finding("echo", "error", say("grounding.echo", lang, m.group()), draft, m.start(), m.end())
            for m in sorted(matches, key=lambda m: m.start())]
