"""Gradio helpers shared by the views: the light concurrency group, one-line errors, short cells, the static
CSS/JS of the page, and the registry of components whose texts follow the UI language."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import gradio as gr

from app_parts.texts import DEFAULT_LANG, t

# Table refreshes, feedback and knowledge edits: their own group, so they never wait behind model drafts.
LIGHT = {"concurrency_id": "light", "concurrency_limit": 4, "api_visibility": "private"}
MAX_REPLY_CHARS = 4000
STATIC = Path(__file__).with_name("static")
CSS = (STATIC / "app.css").read_text(encoding="utf-8")
HEAD = (STATIC / "head.html").read_text(encoding="utf-8")
COPY_JS = (STATIC / "copy.js").read_text(encoding="utf-8")  # runs inside the click: a user gesture may copy

Block = TypeVar("Block")
# attribute → UI text key, or a function of the language for texts with fields or lists of choices
TextSpec = Mapping[str, "str | Callable[[str], Any]"]


def err(e: Exception) -> gr.Error:
    """A UserError as the one-line message the page shows."""
    return gr.Error(str(e), print_exception=False)


def ui_lang(choice: str, detected: str | None) -> str:
    """The UI language: the switch when set, else the message's language (English before any message)."""
    return choice if choice in ("zh", "en") else (detected if detected in ("zh", "en") else DEFAULT_LANG)


def short(text: str, n: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def time_str(iso: str) -> str:
    return str(iso or "").replace("T", " ")[:19]


def _texts(lang: str, spec: TextSpec) -> dict[str, Any]:
    return {attr: key(lang) if callable(key) else t(lang, key) for attr, key in spec.items()}


class Labels:
    """The components whose labels, placeholders, button texts and tab names follow the UI language.

    `make` builds a component with its texts in the default language and remembers which text goes where;
    `updates(lang)` gives one gr.update per component, in the order of `components`."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, TextSpec]] = []

    def make(self, cls: Callable[..., Block], texts: TextSpec, **kwargs: Any) -> Block:
        block = cls(**_texts(DEFAULT_LANG, texts), **kwargs)
        self._items.append((block, texts))
        return block

    @property
    def components(self) -> list[Any]:
        return [block for block, _ in self._items]

    def updates(self, lang: str) -> list[Any]:
        return [gr.update(**_texts(lang, spec)) for _, spec in self._items]
