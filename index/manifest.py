"""`manifest.json`, the index folder's table of contents: what was built, from what, and checksums to trust it.

Keys: format version, embedding model id and dimension, build settings, build time, the knowledge folder, the
content hash and passage count of every knowledge file (`files`), the sha256 and size of every index file
(`index_files`), and a hash of each passages.jsonl row in order (`row_hashes`, row i = vector i).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import UserError

FORMAT_VERSION = 2  # 2: index file checksums and row hashes
MANIFEST = "manifest.json"
TOKENIZER = "jieba-search+en-light-stem"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def row_hash(line: str) -> str:
    """Hash of one passages.jsonl line (without its newline).

    >>> row_hash('{"id": "p-1"}')
    '36fb54a39e01eef3'
    """
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:16]


def rebuild_hint(index_dir: str | Path, knowledge_dir: str = "") -> str:
    """The command that rebuilds this index, with the knowledge folder when the manifest names it."""
    return f"rebuild with: python -m index build {knowledge_dir or 'KNOWLEDGE_DIR'} --index {index_dir}"


@dataclass
class KnowledgeFile:
    """A knowledge file as indexed: its content hash and how many passages came out of it."""

    sha256: str
    passages: int


@dataclass
class IndexFile:
    """An index file as written: its sha256 and size in bytes."""

    sha256: str
    size: int

    @classmethod
    def of(cls, path: Path) -> "IndexFile":
        return cls(sha256_file(path), path.stat().st_size)


@dataclass
class Manifest:
    embedding_model: str
    dimension: int
    embedder: dict[str, Any] = field(default_factory=dict)  # engine, model id, dimension, query/passage prefixes
    dense_index: str = "flat"
    chunk_max_chars: int = 400
    embed_max_tokens: int = 32
    tokenizer: str = TOKENIZER
    built_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    knowledge_dir: str = ""
    passages: int = 0
    full_rebuild_reason: str = ""
    synthetic: bool = False
    files: dict[str, KnowledgeFile] = field(default_factory=dict)
    index_files: dict[str, IndexFile] = field(default_factory=dict)
    row_hashes: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"format_version": d.pop("format_version"), **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Manifest":
        """A manifest of this format version; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in names}
        values["files"] = {k: KnowledgeFile(**v) for k, v in d.get("files", {}).items()}
        values["index_files"] = {k: IndexFile(**v) for k, v in d.get("index_files", {}).items()}
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """What `python -m index info` shows: the manifest with passage counts per file and no row hashes."""
        d = self.to_dict()
        d.pop("row_hashes")
        d["files"] = {k: v.passages for k, v in self.files.items()}
        return d

    def rebuild_hint(self, index_dir: str | Path) -> str:
        return rebuild_hint(index_dir, self.knowledge_dir)

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, base: Path, shown: Path | None = None) -> "Manifest":
        """The manifest of the index folder `base`; errors name `shown` (the user's path) instead of `base`
        (which may be a /proc/self/fd path)."""
        shown = shown or base
        if not base.is_dir():
            raise UserError(f"no index at {shown}; build one with: python -m index build KNOWLEDGE_DIR "
                            f"--index {shown}")
        path = base / MANIFEST
        if not path.is_file():
            raise UserError(f"{shown} is not an index (no {MANIFEST}); build one with: python -m index build "
                            f"KNOWLEDGE_DIR --index {shown}")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            version = raw.get("format_version")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            raise UserError(f"{shown / MANIFEST} is damaged; {rebuild_hint(shown)}") from None
        if version != FORMAT_VERSION:
            raise UserError(f"index {shown} has format version {version}, this program reads version "
                            f"{FORMAT_VERSION}; {rebuild_hint(shown, str(raw.get('knowledge_dir') or ''))}")
        try:
            return cls.from_dict(raw)
        except (TypeError, AttributeError):
            raise UserError(f"{shown / MANIFEST} is damaged; {rebuild_hint(shown)}") from None
