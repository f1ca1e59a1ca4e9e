"""Gradio helpers shared by the views: the light concurrency group, one-line errors, short cells."""
from __future__ import annotations

import gradio as gr

# Table refreshes, feedback and knowledge edits: their own group, so they never wait behind model drafts.
LIGHT = {"concurrency_id": "light", "concurrency_limit": 4, "api_visibility": "private"}
MAX_REPLY_CHARS = 4000


def err(e: Exception) -> gr.Error:
    """A UserError as the one-line message the page shows."""
    return gr.Error(str(e), print_exception=False)


def ui_lang(choice: str, detected: str | None) -> str:
    """The UI language: the switch when set, else the message's language (English before any message)."""
    return choice if choice in ("zh", "en") else (detected if detected in ("zh", "en") else "en")


def short(text: str, n: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def time_str(iso: str) -> str:
    return str(iso or "").replace("T", " ")[:19]
