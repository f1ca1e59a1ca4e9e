"""The scripted `fake` backend for tests: replies from a list or a function, streamed word by word."""
from __future__ import annotations

import re
from typing import Callable, Iterator, Sequence, Union

from core.errors import GeneratorError
from suggest.backends.base import FAKE_DEFAULT_REPLY, Messages, cut_at_stop

Script = Union[Sequence[Union[str, BaseException]], Callable[[Messages], str]]
_WORD = re.compile(r"[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+\s*|\s+")


class FakeGenerator:
    """Scripted generator: replies from a list (in turn; an exception in the list is raised) or from
    `script(messages)`. Streams word by word (one piece per CJK character); `calls` records every prompt."""

    name = "fake"

    def __init__(self, script: Script | None = None, *, raise_after: int | None = None,
                 error: BaseException | None = None) -> None:
        self.script: Script = script if script is not None else [FAKE_DEFAULT_REPLY]
        self.raise_after = raise_after  # raise `error` after this many pieces of every reply
        self.error = error or GeneratorError("fake backend failure")
        self.calls: list[Messages] = []
        self.closed = False

    def _next_reply(self, messages: Messages) -> str:
        if callable(self.script):
            return self.script(messages)
        if not self.script:
            raise GeneratorError("fake backend has no scripted reply")
        item = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        if isinstance(item, BaseException):
            raise item
        return item

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        self.calls.append([dict(m) for m in messages])
        reply = cut_at_stop(self._next_reply(messages), stop)[0]
        for i, piece in enumerate(_WORD.findall(reply)[:max_new_tokens]):
            if self.raise_after is not None and i >= self.raise_after:
                raise self.error
            yield piece

    def close(self) -> None:
        self.closed = True
