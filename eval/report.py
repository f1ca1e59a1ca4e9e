"""Output helpers shared by the `python -m eval` commands: cell formatting, fixed-width tables, atomic JSON files,
thread-count lists, and the `Report` shape every command returns (one JSON object or a text table)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from core.cli import EXIT_OK, print_json
from core.errors import UserError


class Report(Protocol):
    """What a command returns: the CLI prints `to_dict()` with --json, else `text()`."""

    def to_dict(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


@dataclass(frozen=True)
class Skipped:
    """A benchmark that did not run because optional data is absent (exit 0)."""

    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": True, "reason": self.reason}

    def text(self) -> str:
        return f"skipped: {self.reason}"


def print_report(report: Report, as_json: bool) -> int:
    """Print one JSON object (--json) or the text table; the exit code of a command that ran."""
    if as_json:
        print_json(report.to_dict())
    else:
        print(report.text())
    return EXIT_OK


def fmt(v: Any) -> str:
    """One table cell.

    >>> [fmt(None), fmt(True), fmt(0.5), fmt({"p50": 1.25, "p95": None}), fmt(7)]
    ['—', 'yes', '0.500', '1.2 / —', '7']
    """
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, dict) and set(v) >= {"p50", "p95"}:
        return f"{fmt_ms(v['p50'])} / {fmt_ms(v['p95'])}"
    return str(v)


def fmt_ms(v: Any) -> str:
    """Milliseconds with one decimal, "—" for None."""
    return "—" if v is None else f"{v:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width text table (first column left-aligned, the others right-aligned).

    >>> print(table(["a", "b"], [["x", 1.5], ["yy", None]]))
    a       b
    --  -----
    x   1.500
    yy      —
    """
    cells = [[str(h) for h in header]] + [[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented UTF-8 JSON, atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def parse_threads(value: str) -> tuple[int, ...]:
    """The --threads option: a comma-separated list of thread counts; a one-line UserError for anything else.

    >>> parse_threads("1,2"), parse_threads("4,")
    ((1, 2), (4,))
    """
    try:
        out = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--threads {value!r} is not a list of numbers; use e.g. --threads 1,2") from None
    if not out or min(out) < 1:
        raise UserError(f"--threads {value!r} needs thread counts of at least 1, e.g. --threads 1,2")
    return out
