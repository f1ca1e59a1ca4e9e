"""The events `Copilot.run` yields while a suggestion is made, in order:

    HitsEvent                       retrieval and message analysis are done: sources, language, escalation
    DraftEvent                      a ready-made draft (saved reply or holding reply), already checked
    TokenEvent*                     pieces of the model's draft as they stream
    RestartEvent, TokenEvent*       the model's draft failed a check: streaming starts again, naming the problems
    DraftEvent | ErrorEvent         the checked model draft, or why it could not be made
    DoneEvent                       the finished Suggestion (always last)

A consumer dispatches on the type (`match event: case TokenEvent(): …`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from core.types import Draft, Suggestion


@dataclass(frozen=True)
class HitsEvent:
    """The suggestion so far: hits, language, escalation and message checks (no drafts yet)."""

    suggestion: Suggestion


@dataclass(frozen=True)
class DraftEvent:
    """A checked draft, added to the suggestion."""

    draft: Draft


@dataclass(frozen=True)
class TokenEvent:
    """The next piece of the model's draft."""

    text: str


@dataclass(frozen=True)
class RestartEvent:
    """The model's draft is written again; `problems` are the error findings the new prompt names."""

    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ErrorEvent:
    """The model draft failed; `message` is the line also added to `Suggestion.errors`."""

    message: str


@dataclass(frozen=True)
class DoneEvent:
    """The finished suggestion."""

    suggestion: Suggestion


Event = Union[HitsEvent, DraftEvent, TokenEvent, RestartEvent, ErrorEvent, DoneEvent]
