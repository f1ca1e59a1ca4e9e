"""Read a knowledge folder into passages: Markdown/text documents and CSV/JSONL question-answer tables.

Problems in one file never stop the others: each loader returns passages plus `FileProblem`s naming the file
and line, and the build decides what to keep.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from core.errors import KnowledgeError
from core.language import detect_language
from core.settings import Settings
from core.types import Passage
from index.chunking import chunk_document
from index.entries import EntryMeta, validate_meta
from index.tables import table_rows

DOC_TYPES = (".md", ".markdown", ".txt")
TABLE_TYPES = (".csv", ".jsonl")
SUPPORTED = DOC_TYPES + TABLE_TYPES
# Files and folders in a knowledge folder that are configuration, not knowledge.
NOT_KNOWLEDGE = {"shop.yaml", "rules", "README.md"}
# Control characters other than tab, line feed, form feed and carriage return: text has next to none.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
BINARY_CONTROL_SHARE = 0.01


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
        """True when the file as a whole could not be read, or every row of it was bad (nothing usable came out)."""
        errors = [p for p in self.problems if p.level == "error"]
        return any(p.line == 0 for p in errors) or bool(errors and not self.passages)


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
                raise KnowledgeError("front matter must be a YAML mapping")
            return data, "\n".join(lines[i + 1:]), i + 2
    raise KnowledgeError("front matter starts with '---' but has no closing '---'")


def _make(source: str, title: str, text: str, meta: EntryMeta, line: int, question: str = "") -> Passage:
    text = text.strip()
    return Passage(id=passage_id(source, title, text, question), source=source, title=title, text=text,
                   question=question, line=line, lang=detect_language(f"{question} {text}"), **asdict(meta))


def load_document(source: str, text: str, max_chars: int) -> list[Passage]:
    """Passages of a .md/.txt document (front matter fields apply to all of them)."""
    front, body, first_line = split_front_matter(text)
    meta = validate_meta(front, "doc", " of the front matter")
    fallback_title = str(front.get("title") or Path(source).stem.split(".")[0].replace("-", " ").replace("_", " "))
    return [_make(source, c.title or fallback_title, c.text, meta, c.line)
            for c in chunk_document(body, max_chars, first_line=first_line)]


def load_table(source: str, text: str) -> tuple[list[Passage], list[FileProblem]]:
    """Passages of a question/answer table; a bad row is reported at its line and skipped, the others kept."""
    rows, bad = table_rows(source, text)
    problems = [FileProblem(source, b.line, b.message) for b in bad]
    passages = []
    for row in rows:
        question = str(row.fields.get("question") or "").strip()
        answer = str(row.fields.get("answer") or row.fields.get("reply") or "").strip()
        if not question or not answer:
            problems.append(FileProblem(source, row.line, "row has an empty question or answer; skipped"))
            continue
        try:
            meta = validate_meta(row.fields, "faq")
        except KnowledgeError as e:
            problems.append(FileProblem(source, row.line, f"{e}; row skipped"))
            continue
        passages.append(_make(source, question, answer, meta, row.line, question=question))
    problems.sort(key=lambda p: p.line)
    return passages, problems


def _size(n: int) -> str:
    """A byte count for messages.

    >>> _size(3000), _size(52_400_000)
    ('3.0 kB', '52.4 MB')
    """
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _decode(data: bytes) -> tuple[str, str]:
    """(text, "") for UTF-8 text, else ("", why the content is refused)."""
    if b"\x00" in data:
        return "", ("the file contains NUL bytes: it looks like a binary file (or UTF-16 text: save it as UTF-8); "
                    "not indexed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        return "", f"cannot decode as UTF-8 (near line {line}); save the file as UTF-8"
    if len(_CONTROL.findall(text)) > max(3, BINARY_CONTROL_SHARE * len(text)):
        return "", "the file is full of control characters: it looks like a binary file, not text; not indexed"
    return text, ""


def load_file(root: Path, path: Path, max_chars: int,
              max_bytes: int = Settings.max_file_bytes) -> LoadedFile:
    """Load one knowledge file; any problem is recorded on the result, never raised."""
    source = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > max_bytes:
        return LoadedFile(source, "", problems=[FileProblem(
            source, 0, f"the file is {_size(size)}, over the max_file_bytes limit of {_size(max_bytes)}; "
                       "split it, or raise max_file_bytes in shop.yaml (settings:)")])
    data = path.read_bytes()
    loaded = LoadedFile(source=source, sha256=hashlib.sha256(data).hexdigest())
    text, refused = _decode(data)
    if refused:
        loaded.problems.append(FileProblem(source, 0, refused))
        return loaded
    try:
        if path.suffix.lower() in TABLE_TYPES:
            loaded.passages, loaded.problems = load_table(source, text)
        else:
            loaded.passages = load_document(source, text, max_chars)
    except (KnowledgeError, yaml.YAMLError) as e:
        loaded.problems.append(FileProblem(source, 0, str(e).splitlines()[0]))
    return loaded
