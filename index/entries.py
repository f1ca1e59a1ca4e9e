"""The one set of rules for a knowledge entry's fields (kind, keywords, tags, validity dates).

Used by the loaders (front matter and table rows), the knowledge view (add/edit FAQ and emergency entries) and
promote (past good replies), so all three accept and refuse the same input with the same message.

>>> validate_meta({"kind": "emergency", "keywords": "双11；快递慢", "valid_until": "2026-11-30"}, "faq").keywords
['双11', '快递慢']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from core.errors import KnowledgeError
from core.types import KINDS

_LIST_SEP = re.compile(r"[;；,，]")


@dataclass
class EntryMeta:
    """The validated optional fields of a document or table row; dates are ISO strings or None."""

    kind: str
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    valid_from: str | None = None
    valid_until: str | None = None

    def row(self) -> dict[str, str]:
        """The fields as CSV cells: lists ';'-joined, a missing date empty."""
        return {"kind": self.kind, "keywords": ";".join(self.keywords), "valid_from": self.valid_from or "",
                "valid_until": self.valid_until or "", "tags": ";".join(self.tags)}


def split_list(value: object) -> list[str]:
    """Keywords or tags: a YAML/JSON list, or one string separated by ';' or ',' (ASCII or full-width)."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else _LIST_SEP.split(str(value))
    return [str(v).strip() for v in items if str(v).strip()]


def parse_date(value: object, where: str) -> str | None:
    """ISO date string or None; a KnowledgeError naming `where` for anything else."""
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise KnowledgeError(f"bad date {str(value)!r} in {where} (use YYYY-MM-DD)") from None


def validate_meta(raw: Mapping[str, Any], default_kind: str, where: str = "") -> EntryMeta:
    """The entry fields of `raw` checked and cleaned; `where` (e.g. " of the front matter") goes into messages."""
    kind = str(raw.get("kind") or "").strip() or default_kind
    if kind not in KINDS:
        raise KnowledgeError(f"unknown kind {kind!r} (valid: {', '.join(KINDS)})")
    meta = EntryMeta(kind=kind, keywords=split_list(raw.get("keywords")), tags=split_list(raw.get("tags")),
                     valid_from=parse_date(raw.get("valid_from"), f"valid_from{where}"),
                     valid_until=parse_date(raw.get("valid_until"), f"valid_until{where}"))
    if meta.valid_from and meta.valid_until and meta.valid_from > meta.valid_until:
        raise KnowledgeError(f"valid_from {meta.valid_from} is after valid_until {meta.valid_until}")
    if kind == "emergency" and not meta.keywords:
        raise KnowledgeError("an emergency entry needs keywords (';'-separated) to be matched by")
    return meta
