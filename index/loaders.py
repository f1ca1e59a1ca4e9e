"""Read a knowledge folder into passages: Markdown/text documents and CSV/JSONL question-answer tables.

Problems in one file never stop the others: each loader returns passages plus `FileProblem`s naming the file
and line, and the build decides what to keep.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from index.chunking import chunk_document
from core.language import detect_language
from core.types import KINDS, Passage

DOC_TYPES = (".md", ".markdown", ".txt")
TABLE_TYPES = (".csv", ".jsonl")
SUPPORTED = DOC_TYPES + TABLE_TYPES
# Files and folders in a knowledge folder that are configuration, not knowledge.
NOT_KNOWLEDGE = {"shop.yaml", "rules", "README.md"}
TABLE_KINDS = ("faq", "past_reply", "emergency")
META_FIELDS = ("kind", "keywords", "valid_from", "valid_until", "tags", "title")


@dataclass
class FileProblem:
    """A problem in one knowledge file: `level` is "error" (file or row not indexed) or "warning"."""

    source: str
    line: int
    message: str
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{self.level}: {where}: {self.message}"


@dataclass
class LoadedFile:
    source: str
    sha256: str
    passages: list[Passage] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the file as a whole could not be read (nothing usable came out of it)."""
        return any(p.level == "error" and p.line == 0 for p in self.problems)


def passage_id(source: str, title: str, text: str, question: str = "") -> str:
    """Stable id: the same file, title and text give the same id on every rebuild.

    >>> passage_id("faq.csv", "Q", "A") == passage_id("faq.csv", "Q", "A"), len(passage_id("faq.csv", "Q", "A"))
    (True, 18)
    """
    h = hashlib.sha1("\x1f".join((source, title, question, text)).encode("utf-8")).hexdigest()
    return "p-" + h[:16]


def list_files(root: Path) -> tuple[list[Path], list[FileProblem]]:
    """Supported files under root (sorted), and warnings for the unsupported ones."""
    files, warnings = [], []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or rel.parts[0] in NOT_KNOWLEDGE:
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() in SUPPORTED:
            files.append(path)
        else:
            warnings.append(FileProblem(rel.as_posix(), 0, f"unsupported file type '{path.suffix or path.name}' "
                                        f"skipped (supported: {', '.join(SUPPORTED)})", "warning"))
    return files, warnings


def parse_date(value: object, where: str) -> str | None:
    """ISO date string or None; raises ValueError with a readable message for anything else."""
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValueError(f"bad date {str(value)!r} in {where} (use YYYY-MM-DD)") from None


def _split_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).replace("；", ";").split(";") if v.strip()]


def _meta(raw: dict, where: str, default_kind: str) -> dict:
    """Validated optional fields shared by documents and table rows."""
    kind = str(raw.get("kind") or default_kind).strip()
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (valid: {', '.join(KINDS)})")
    meta = {
        "kind": kind,
        "keywords": _split_list(raw.get("keywords")),
        "tags": _split_list(raw.get("tags")),
        "valid_from": parse_date(raw.get("valid_from"), f"valid_from{where}"),
        "valid_until": parse_date(raw.get("valid_until"), f"valid_until{where}"),
    }
    if meta["valid_from"] and meta["valid_until"] and meta["valid_from"] > meta["valid_until"]:
        raise ValueError(f"valid_from {meta['valid_from']} is after valid_until {meta['valid_until']}")
    if kind == "emergency" and not meta["keywords"]:
        raise ValueError("an emergency entry needs keywords (';'-separated) to be matched by")
    return meta


def split_front_matter(text: str) -> tuple[dict, str, int]:
    """(front matter dict, body, line number where the body starts).

    >>> split_front_matter("---\\nkind: faq\\n---\\nBody")
    ({'kind': 'faq'}, 'Body', 4)
    """
    if not text.startswith("---"):
        return {}, text, 1
    lines = text.splitlines()
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            data = yaml.safe_load("\n".join(lines[1:i])) or {}
            if not isinstance(data, dict):
                raise ValueError("front matter must be a YAML mapping")
            return data, "\n".join(lines[i + 1:]), i + 2
    raise ValueError("front matter starts with '---' but has no closing '---'")


def _make(source: str, title: str, text: str, meta: dict, line: int, question: str = "") -> Passage:
    text = text.strip()
    return Passage(id=passage_id(source, title, text, question), source=source, title=title, text=text,
                   question=question, line=line, lang=detect_language(f"{question} {text}"), **meta)


def load_document(source: str, text: str, max_chars: int) -> list[Passage]:
    """Passages of a .md/.txt document (front matter fields apply to all of them)."""
    front, body, first_line = split_front_matter(text)
    meta = _meta(front, " of the front matter", "doc")
    fallback_title = str(front.get("title") or Path(source).stem.split(".")[0].replace("-", " ").replace("_", " "))
    return [_make(source, c.title or fallback_title, c.text, meta, c.line)
            for c in chunk_document(body, max_chars, first_line=first_line)]


def _table_rows(source: str, text: str) -> list[tuple[int, dict]]:
    """(line, row) pairs of a CSV or JSONL table; raises ValueError naming the line for a broken row."""
    if source.lower().endswith(".jsonl"):
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"line {n}: invalid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"line {n}: each line must be a JSON object")
            rows.append((n, row))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return []
    reader.fieldnames = [f.strip().lower().lstrip("\ufeff") for f in reader.fieldnames]
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as e:
        raise ValueError(f"line {reader.line_num}: {e}") from None


def load_table(source: str, text: str) -> tuple[list[Passage], list[FileProblem]]:
    """Passages of a question/answer table; a bad row is reported and skipped, the others kept."""
    rows = _table_rows(source, text)
    if rows:
        cols = set().union(*(r.keys() for _, r in rows))
        if "question" not in cols or not ({"answer", "reply"} & cols):
            raise ValueError(f"needs a 'question' column and an 'answer' (or 'reply') column, found: "
                             f"{', '.join(sorted(c for c in cols if c)) or 'none'}")
    passages, problems = [], []
    for line, row in rows:
        question = str(row.get("question") or "").strip()
        answer = str(row.get("answer") or row.get("reply") or "").strip()
        if not question or not answer:
            problems.append(FileProblem(source, line, "row has an empty question or answer; skipped"))
            continue
        try:
            meta = _meta(row, "", "faq")
        except ValueError as e:
            problems.append(FileProblem(source, line, f"{e}; row skipped"))
            continue
        passages.append(_make(source, question, answer, meta, line, question=question))
    return passages, problems


def load_file(root: Path, path: Path, max_chars: int) -> LoadedFile:
    """Load one knowledge file; any problem is recorded on the result, never raised."""
    source = path.relative_to(root).as_posix()
    data = path.read_bytes()
    loaded = LoadedFile(source=source, sha256=hashlib.sha256(data).hexdigest())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        loaded.problems.append(FileProblem(source, 0, f"cannot decode as UTF-8 (near line {line}); "
                                           "save the file as UTF-8"))
        return loaded
    try:
        if path.suffix.lower() in TABLE_TYPES:
            loaded.passages, loaded.problems = load_table(source, text)
        else:
            loaded.passages = load_document(source, text, max_chars)
    except (ValueError, yaml.YAMLError) as e:
        loaded.problems.append(FileProblem(source, 0, str(e).splitlines()[0]))
    return loaded
