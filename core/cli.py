"""Shared command-line plumbing: one-line errors and exit codes instead of tracebacks."""
from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any, Callable

from core.errors import CopilotError, UserError

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a CLI entry point: any CopilotError → one line "error: …" on stderr and exit 2; Ctrl+C → exit 130."""
    try:
        return main(argv)
    except CopilotError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def one_line(error: BaseException) -> str:
    """An error's message on one line (a backend's multi-line text joined with spaces).

    >>> one_line(UserError("cannot load model.gguf:\\n  bad magic"))
    'cannot load model.gguf: bad magic'
    """
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def parse_today(value: str | None) -> date:
    """The --today option: an ISO date, default the real date."""
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--today {value!r} is not a date; use YYYY-MM-DD, e.g. --today 2026-11-23") from None


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))
