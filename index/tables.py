"""Question/answer tables (CSV, JSONL) read row by row: a broken row costs that row only, reported at its line.

A CSV quote that is never closed would swallow every line after it into one field; the reader notices the
unbalanced quotes, reports the row where the quote opened, and reads on from the next line.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from core.errors import KnowledgeError


@dataclass
class Row:
    """One table row: `line` is where it starts in the file (1-based); `fields` maps lower-case column names."""

    line: int
    fields: dict[str, object]


@dataclass
class BadRow:
    line: int
    message: str


def jsonl_rows(text: str) -> tuple[list[Row], list[BadRow]]:
    """Rows of a JSONL table; each invalid line is a BadRow, the others are kept."""
    rows, bad = [], []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append(BadRow(n, f"invalid JSON ({e.msg}); row skipped"))
            continue
        if not isinstance(obj, dict):
            bad.append(BadRow(n, "each line must be a JSON object; row skipped"))
            continue
        rows.append(Row(n, {str(k).strip().lower(): v for k, v in obj.items()}))
    return rows, bad


Records = list[tuple[int, list[str]]]  # (first line, cells)


def _read(lines: list[str], pos: int, records: Records, strict: bool) -> tuple[int, int, str] | None:
    """Append the records of lines[pos:]; on a csv.Error stop and return (first line, last line, reason) of the
    record that failed."""
    reader = csv.reader(lines[pos:], strict=strict)
    start = pos + 1
    try:
        for cells in reader:
            records.append((start, cells))
            start = pos + reader.line_num + 1
    except csv.Error as e:
        return start, pos + reader.line_num, str(e)
    return None


def _records(lines: list[str]) -> tuple[Records, list[BadRow]]:
    """The CSV records of `lines`. Strict parsing finds where quoting goes wrong; a failing span whose quotes
    balance is read again leniently (csv's default, so sloppy quoting keeps working), one whose quotes do not
    is an unclosed quote: that row is skipped and reading goes on at the next line."""
    records: Records = []
    bad: list[BadRow] = []
    pos = 0  # lines before `pos` are read
    while pos < len(lines):
        failed = _read(lines, pos, records, strict=True)
        if failed is None:
            break
        start, end, _ = failed
        if sum(line.count('"') for line in lines[start - 1:end]) % 2:
            to = "the end of the file" if end >= len(lines) else f"line {end}"
            bad.append(BadRow(start, f"unclosed quote (the field runs on to {to}); row skipped"))
            pos = start
            continue
        lenient = _read(lines[:end], start - 1, records, strict=False)
        if lenient is not None:
            bad.append(BadRow(lenient[0], f"{lenient[2]}; row skipped"))
        pos = end
    return records, bad


def csv_rows(text: str) -> tuple[list[Row], list[BadRow]]:
    """Rows of a CSV table with a header line; blank lines are skipped."""
    records, bad = _records(io.StringIO(text).readlines())  # split at "\n" only, never inside a field at \u2028
    records = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    if not records:
        return [], bad
    names = [c.strip().lower().lstrip("\ufeff") for c in records[0][1]]
    return [Row(line, dict(zip(names, cells))) for line, cells in records[1:]], bad


def table_rows(source: str, text: str) -> tuple[list[Row], list[BadRow]]:
    """Rows of a CSV or JSONL table; a KnowledgeError when it lacks the question and answer columns."""
    rows, bad = jsonl_rows(text) if source.lower().endswith(".jsonl") else csv_rows(text)
    if rows:
        cols = set().union(*(r.fields.keys() for r in rows))
        if "question" not in cols or not ({"answer", "reply"} & cols):
            raise KnowledgeError(f"needs a 'question' column and an 'answer' (or 'reply') column, found: "
                                 f"{', '.join(sorted(c for c in cols if c)) or 'none'}")
    return rows, bad
