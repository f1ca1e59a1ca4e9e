"""What every generator backend shares: the `Generator` protocol, stop-string handling, and the constants the
backends read (sampling penalties, install hint)."""
from __future__ import annotations

from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

Messages = list[dict[str, str]]
INSTALL_HINT = "pip install -r requirements.txt"
HTTP_CONNECT_TIMEOUT_S = 10.0
HTTP_ERROR_SNIPPET_CHARS = 200
# Mild penalty on tokens repeated within llama.cpp's last 64: without it the 0.5B model sometimes loops on one
# sentence until max_new_tokens. Not used with transformers, whose penalty covers the whole prompt and so
# discourages copying facts from the passages (measured: a wrong, uncited reply); an OpenAI-compatible server
# keeps its own sampling defaults.
REPEAT_PENALTY = 1.1
LLAMA_SLOTS = 2  # llama.cpp contexts kept warm: one per distinct system prompt (shop language)
FAKE_DEFAULT_REPLY = "Thanks for your message, we will check and get back to you [1]."



@runtime_checkable
class Generator(Protocol):
    """Streams the reply to `messages` as text pieces."""

    name: str

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]: ...


def close_generator(generator: Any) -> None:
    """Call `close()` when the generator has one."""
    close = getattr(generator, "close", None)
    if callable(close):
        close()


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop or () if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class StopFilter:
    """Feeds streamed pieces, releases text that cannot be the start of a stop string, stops at one."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in stop or () if s]
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.pending += piece
        text, found = cut_at_stop(self.pending, self.stop)
        if found:
            self.stopped, self.pending = True, ""
            return text
        hold = max((k for s in self.stop for k in range(1, len(s)) if self.pending.endswith(s[:k])), default=0)
        out, self.pending = self.pending[: len(self.pending) - hold], self.pending[len(self.pending) - hold:]
        return out

    def flush(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out
