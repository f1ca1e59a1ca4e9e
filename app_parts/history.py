"""The "earlier turns" of a conversation, from the app's text box or a JSON list, as {"role", "content"} turns.

>>> parse_history("客户: 在吗\\n客服：在的\\nI ordered a kettle")
[{'role': 'customer', 'content': '在吗'}, {'role': 'agent', 'content': '在的\\nI ordered a kettle'}]
"""
from __future__ import annotations

import json
import re
from typing import Mapping, Sequence

from core.errors import UserError

HISTORY_TURNS_KEPT = 20  # earlier turns kept from the history box (the prompt uses fewer: PROMPT_HISTORY_TURNS)
_ROLE_PREFIX = re.compile(
    r"^\s*(客户|顾客|买家|用户|customer|client|buyer|user|c|客服|卖家|商家|我|agent|staff|seller|a)\s*[:：]\s*",
    re.IGNORECASE)
_AGENT_ROLES = {"客服", "卖家", "商家", "我", "agent", "staff", "seller", "a"}


def parse_history(value: str | Sequence[Mapping[str, str]] | None, max_chars: int = 8000
                  ) -> list[dict[str, str]]:
    """Earlier turns from the box (one turn a line, "客户:"/"customer:" or "客服:"/"agent:" in front; a line
    without a prefix continues the turn before it, or starts a customer turn) or from a JSON list of
    {"role", "content"}. Keeps the last HISTORY_TURNS_KEPT turns; refuses more than `max_chars` characters."""
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if isinstance(value, str):
        turns = _turns_from_text(value, max_chars)
    elif isinstance(value, (list, tuple)):
        turns = _turns_from_list(value, max_chars)
    else:
        raise UserError("history must be text (one turn a line) or a list of {role, content}")
    return [turn for turn in turns if turn["content"]][-HISTORY_TURNS_KEPT:]


def _turns_from_text(value: str, max_chars: int) -> list[dict[str, str]]:
    if len(value) > max_chars:
        raise UserError(f"the earlier turns have {len(value)} characters, more than {max_chars}; keep the "
                        "last few turns only")
    turns: list[dict[str, str]] = []
    for line in value.splitlines():
        if not line.strip():
            continue
        m = _ROLE_PREFIX.match(line)
        if m:
            role = "agent" if m.group(1).lower() in _AGENT_ROLES else "customer"
            turns.append({"role": role, "content": line[m.end():].strip()})
        elif turns:
            turns[-1]["content"] += "\n" + line.strip()
        else:
            turns.append({"role": "customer", "content": line.strip()})
    return turns


def _turns_from_list(value: Sequence[object], max_chars: int) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    total = 0
    for item in value:
        if not isinstance(item, Mapping):
            raise UserError("history must be a list of {\"role\": \"customer\"|\"agent\", \"content\": \"...\"}")
        role = str(item.get("role", "customer")).lower()
        role = "agent" if role in ("agent", "assistant", "staff") else "customer"
        content = str(item.get("content", "")).strip()
        total += len(content)
        if content:
            turns.append({"role": role, "content": content})
    if total > max_chars:
        raise UserError(f"the earlier turns have {total} characters, more than {max_chars}")
    return turns
