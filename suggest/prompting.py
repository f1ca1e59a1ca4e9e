"""Prompt building: templates from `prompts/`, numbered passages framed as data, trimming to the context window,
and parsing the [n] citation markers the model writes back.

Everything here is pure apart from reading (and caching) the template files.

>>> render("retry.en", problems="a date not in the passages")
'Your previous draft had these problems: a date not in the passages. Write it again without them.'
>>> parse_citation_numbers("Free shipping over 99 [1][3], see 【2】.")
[1, 3, 2]
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from core.errors import PromptError
from core.settings import ShopProfile
from core.types import Hit

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
LANGS = ("zh", "en")
DEFAULT_LANG = "en"

# Token estimate (conservative): ~1 token per CJK character, ~1 per 3.5 other characters, plus the chat
# template's per-message wrapping (`<|im_start|>role\n … <|im_end|>\n`) and a safety margin.
LATIN_CHARS_PER_TOKEN = 3.5
TOKENS_PER_MESSAGE = 8
SAFETY_TOKENS = 32
DEFAULT_MAX_CHARS_PER_PASSAGE = 400
MIN_CHARS_PER_PASSAGE = 80
SHRINK_FACTOR = 0.75
PROMPT_HISTORY_TURNS = 4  # earlier conversation turns put in the prompt (before trimming)
# Conversation roles as the app records them → chat roles.
CHAT_ROLES = {"customer": "user", "user": "user", "agent": "assistant", "assistant": "assistant"}
ELLIPSIS = "…"

KIND_LABELS = {
    "en": {"doc": "doc", "faq": "FAQ", "past_reply": "past reply", "emergency": "notice", "greeting": "greeting"},
    "zh": {"doc": "文档", "faq": "常见问题", "past_reply": "过往回复", "emergency": "临时公告", "greeting": "问候"},
}
QA_LABELS = {"en": ("Q", "A"), "zh": ("问", "答")}
# Delimiter tags used in reply_user.*.txt; removed from passage and message text so data cannot close the frame.
FRAME_TAG = re.compile(r"</?\s*(passages|message)\s*>", re.IGNORECASE)
_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
# [1]  [1, 2]  [1，2]  [1、2]  【1】 — one marker may list several numbers.
CITATION = re.compile(r"[\[【]\s*(\d{1,4}(?:\s*[,，、]\s*\d{1,4})*)\s*[\]】]")
_SPACED_CITATION = re.compile(r"([ \t]*)" + CITATION.pattern)
_NUM_SEP = re.compile(r"\s*[,，、]\s*")


@lru_cache(maxsize=None)
def _template(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise PromptError(f"unknown prompt template {name!r} (no file {PROMPTS_DIR.name}/{name}.txt); "
                          f"available: {', '.join(available_templates())}")
    return path.read_text(encoding="utf-8").rstrip("\n")


def available_templates() -> list[str]:
    """Names accepted by `render` (file names in prompts/ without `.txt`)."""
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.txt"))


def template_variables(name: str) -> set[str]:
    """The `{variables}` a template uses."""
    return set(_VAR.findall(_template(name)))


def render(name: str, **variables: Any) -> str:
    """Template `prompts/<name>.txt` with every `{var}` replaced; a missing variable raises PromptError."""
    text = _template(name)

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in variables:
            raise PromptError(f"prompt template {PROMPTS_DIR.name}/{name}.txt uses {{{key}}}, which was not given; "
                              f"given: {', '.join(sorted(variables)) or 'none'}")
        return str(variables[key])

    return _VAR.sub(sub, text)


def prompt_lang(lang: str) -> str:
    """The prompt language for a detected language ("zh" or "en"; anything else falls back to English)."""
    return lang if lang in LANGS else DEFAULT_LANG


def estimate_tokens(text: str) -> int:
    """A conservative token count for the small Qwen tokenizer (no tokenizer needed)."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / LATIN_CHARS_PER_TOKEN)


def estimate_messages_tokens(messages: Sequence[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + TOKENS_PER_MESSAGE for m in messages)


def _clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())  # one line per passage keeps the [n] numbering unambiguous
    return text if len(text) <= max_chars else text[: max(0, max_chars - 1)].rstrip() + ELLIPSIS


def _clean(text: str) -> str:
    return FRAME_TAG.sub("", text)


def format_passage(n: int, hit: Hit, lang: str, max_chars: int) -> str:
    """`[n] (kind) title: text`, or `[n] (FAQ) Q: … A: …` for question/answer rows."""
    p = hit.passage
    lang = prompt_lang(lang)
    label = KIND_LABELS[lang].get(p.kind, p.kind)
    if p.question:
        q, a = QA_LABELS[lang]
        body = f"{q}: {_clip(p.question, max_chars // 2)} {a}: {_clip(p.text, max_chars)}"
    else:
        title = f"{_clip(p.title, max_chars // 4)}: " if p.title else ""
        body = title + _clip(p.text, max_chars)
    return f"[{n}] ({label}) {_clean(body)}"


def system_prompt(lang: str, shop: ShopProfile) -> str:
    """The fixed system prompt for a shop and language: byte-identical across requests so the llama.cpp KV
    cache of this prefix is reused."""
    lang = prompt_lang(lang)
    rules = list(shop.get("tone_rules", lang) or ())
    tone = "; ".join(rules) if rules else render(f"tone.{lang}")
    # The shop's banned words are deliberately not listed: on the demo eval set, naming them in the prompt made
    # the 0.5B model use them (2 of 44 drafts vs 0); the tone check catches them instead.
    return render(f"reply.{lang}", shop_name=shop.get("name", lang), persona=shop.get("persona", lang), tone=tone)


EXAMPLE_SECTION = re.compile(r"^=== (passages|message|reply)[ \t]*$", re.MULTILINE)


@lru_cache(maxsize=None)
def load_examples(lang: str) -> tuple[tuple[str, str, str], ...]:
    """Few-shot examples from `prompts/examples.<lang>.txt`: (passages, message, reply) triples.

    The file is a sequence of `=== passages`, `=== message`, `=== reply` sections, repeated per example."""
    name = f"examples.{prompt_lang(lang)}"
    parts = EXAMPLE_SECTION.split(_template(name))
    sections = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    keys = tuple(k for k, _ in sections)
    if len(sections) % 3 or keys != ("passages", "message", "reply") * (len(sections) // 3):
        raise PromptError(f"prompt file {PROMPTS_DIR.name}/{name}.txt must repeat '=== passages', '=== message', '=== reply' sections")
    return tuple((sections[i][1], sections[i + 1][1], sections[i + 2][1]) for i in range(0, len(sections), 3))


def fixed_prefix(lang: str, shop: ShopProfile) -> list[dict[str, str]]:
    """System prompt and the few-shot example turns: identical for every request of a shop and language, so a
    backend that caches the prompt prefix (llama.cpp) evaluates it only once."""
    lang = prompt_lang(lang)
    messages = [{"role": "system", "content": system_prompt(lang, shop)}]
    for passages, message, reply in load_examples(lang):
        messages.append({"role": "user", "content": render(f"reply_user.{lang}", passages=passages,
                                                              message=message, notes="")})
        messages.append({"role": "assistant", "content": reply})
    return messages


@dataclass
class Prompt:
    """The chat messages for one draft and the hits numbered [1]..[n] inside them (after trimming)."""

    messages: list[dict[str, str]]
    hits: list[Hit] = field(default_factory=list)
    trimmed: bool = False


def _notes(lang: str, upset: bool, problems: Sequence[str] | None) -> str:
    notes = []
    if upset:
        notes.append(render(f"upset.{lang}"))
    if problems:
        notes.append(render(f"retry.{lang}", problems=("；" if lang == "zh" else "; ").join(problems)))
    return "".join(n + "\n" for n in notes)


def build_prompt(message: str, hits: Sequence[Hit], lang: str, shop: ShopProfile, *,
                 history: Sequence[dict[str, str]] | None = None, upset: bool = False,
                 problems: Sequence[str] | None = None, max_passages: int = 3,
                 max_chars_per_passage: int = DEFAULT_MAX_CHARS_PER_PASSAGE, n_ctx: int = 2048,
                 max_new_tokens: int = 200) -> Prompt:
    """Fixed prefix (system + examples) + recent history + user message, trimmed to fit `n_ctx` with room for `max_new_tokens`.

    Trimming order: drop old history turns, shorten passages (down to MIN_CHARS_PER_PASSAGE), drop the few-shot
    examples, drop the lowest-ranked passages, finally shorten the message itself. It never raises."""
    lang = prompt_lang(lang)
    budget = n_ctx - max_new_tokens - SAFETY_TOKENS
    prefix = fixed_prefix(lang, shop)
    turns = [{"role": CHAT_ROLES.get(t.get("role", "customer"), "user"), "content": t.get("content", "")}
             for t in (history or []) if t.get("content")][-PROMPT_HISTORY_TURNS:]
    used = list(hits[: max(0, max_passages)])
    chars = max_chars_per_passage
    msg = _clean(message.strip())
    notes = _notes(lang, upset, problems)
    trimmed = len(used) < len(hits) or len(turns) < len(history or [])
    empty = "（无）" if lang == "zh" else "(none)"

    while True:
        passages = "\n".join(format_passage(i, h, lang, chars) for i, h in enumerate(used, 1)) or empty
        user = render(f"reply_user.{lang}", passages=passages, message=msg, notes=notes)
        messages = [*prefix, *turns, {"role": "user", "content": user}]
        over = estimate_messages_tokens(messages) - budget
        if over <= 0:
            return Prompt(messages, used, trimmed)
        trimmed = True
        if turns:
            turns.pop(0)
        elif used and chars > MIN_CHARS_PER_PASSAGE:
            chars = max(MIN_CHARS_PER_PASSAGE, int(chars * SHRINK_FACTOR))
        elif len(prefix) > 1:
            prefix = prefix[:1]  # keep the system prompt, drop the examples
        elif used:
            used.pop()
        elif len(msg) > MIN_CHARS_PER_PASSAGE:
            # Each dropped character saves at most one token; keep at least a stub of the message.
            msg = _clip(msg, max(MIN_CHARS_PER_PASSAGE, len(msg) - over))
        else:
            return Prompt(messages, used, trimmed)  # the fixed prefix alone is too long: the backend says so


def parse_citation_numbers(text: str) -> list[int]:
    """Every number inside a citation marker, in order of appearance (duplicates kept)."""
    return [int(n) for m in CITATION.finditer(text) for n in _NUM_SEP.split(m.group(1).strip())]


def parse_citations(text: str, cited_hits: Sequence[Hit]) -> tuple[list[str], list[str]]:
    """(ids of the hits the markers point at, in order, deduplicated; invalid markers such as "[7]")."""
    ids: list[str] = []
    invalid: list[str] = []
    for n in parse_citation_numbers(text):
        if 1 <= n <= len(cited_hits):
            if cited_hits[n - 1].id not in ids:
                ids.append(cited_hits[n - 1].id)
        elif f"[{n}]" not in invalid:
            invalid.append(f"[{n}]")
    return ids, invalid


def strip_invalid_citations(text: str, n_hits: int) -> str:
    """`text` with numbers outside 1..n_hits removed from citation markers; a marker left empty disappears
    together with the spaces before it."""

    def sub(m: re.Match[str]) -> str:
        nums = _NUM_SEP.split(m.group(2).strip())
        keep = [n for n in nums if 1 <= int(n) <= n_hits]
        if len(keep) == len(nums):
            return m.group(0)
        return (m.group(1) + "".join(f"[{n}]" for n in keep)) if keep else ""

    return _SPACED_CITATION.sub(sub, text)
