"""Full integrity checks of an index folder against its manifest, and what a build may safely take over from it.

`verify_index` compares every file's sha256 and every passages.jsonl row with the manifest
(`python -m index verify`). `read_previous` is the build's view of the old index: only rows whose stored hash
still matches, and vectors only when dense.faiss matches its checksum, so a damaged or reordered index is
healed by re-embedding instead of being carried over.
"""
from __future__ import annotations

import json
from collections.abc import Sized
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.types import Passage
from index.manifest import Manifest, row_hash, sha256_file
from index.store import (DENSE, INDEX_FILES, KEYWORD_FILES, PASSAGES, READ_ERRORS, Damaged, all_vectors, reason,
                         size_problem)

SHOW_ROWS = 5  # rows named in a message before "and N more"


def _rows_text(rows: list[int]) -> str:
    """
    >>> _rows_text([3]), _rows_text([1, 2, 3, 4, 5, 6, 7])
    ('row 3', 'rows 1, 2, 3, 4, 5 and 2 more')
    """
    shown = ", ".join(str(r) for r in rows[:SHOW_ROWS])
    more = f" and {len(rows) - SHOW_ROWS} more" if len(rows) > SHOW_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _verb(items: Sized, one: str, many: str) -> str:
    return one if len(items) == 1 else many


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    return lines[:-1] if data.endswith(b"\n") else lines


def _bad_rows(lines: list[bytes], hashes: list[str]) -> list[int]:
    """1-based rows whose bytes no longer give their stored hash (or that are extra or missing)."""
    bad = [i + 1 for i, (line, h) in enumerate(zip(lines, hashes))
           if row_hash(line.decode("utf-8", errors="replace")) != h]
    return bad + list(range(min(len(lines), len(hashes)) + 1, max(len(lines), len(hashes)) + 1))


def file_problems(folder: Path, manifest: Manifest) -> list[tuple[str, str]]:
    """(file, what is wrong) for every index file that is missing or differs from its recorded checksum."""
    problems = []
    for rel in INDEX_FILES:
        entry = manifest.index_files.get(rel)
        what = size_problem(folder / rel, entry)
        if not what and sha256_file(folder / rel) != entry.sha256:  # type: ignore[union-attr]
            what = "does not match its checksum"
        if what:
            problems.append((rel, what))
    return problems


def _verify(folder: Path) -> tuple[Manifest, list[tuple[str, str]]]:
    manifest = Manifest.read(folder)
    problems = file_problems(folder, manifest)
    if (folder / PASSAGES).is_file():
        bad = _bad_rows(_lines(folder / PASSAGES), manifest.row_hashes)
        if bad:
            problems.append((PASSAGES, f"{_rows_text(bad)} {_verb(bad, 'does', 'do')} not match the row hashes "
                                       "(edited or reordered?)"))
    return manifest, problems


def verify_index(folder: str | Path) -> list[str]:
    """Every mismatch between the index folder and its manifest as a one-line description; [] when intact.
    A missing or unreadable manifest raises the usual UserError."""
    return [f"{rel} {what}" for rel, what in _verify(Path(folder))[1]]


def raise_if_damaged(folder: str | Path) -> Manifest:
    """The manifest of an intact index; a one-line Damaged error naming the first problem otherwise."""
    folder = Path(folder)
    manifest, problems = _verify(folder)
    if problems:
        rel, what = problems[0]
        n = len(problems) - 1
        more = f" (and {n} more problem{'s' * (n > 1)})" if n else ""
        raise Damaged(folder, manifest, rel, what + more)
    return manifest


@dataclass
class Previous:
    """What a build may reuse from the old index: its manifest, the rows that still match their stored hash
    (row number → passage) and, when dense.faiss matches its checksum, the vectors."""

    manifest: Manifest
    rows: dict[int, Passage] = field(default_factory=dict)
    vectors: np.ndarray | None = None
    problems: list[str] = field(default_factory=list)


def read_previous(folder: Path) -> Previous:
    """The trustworthy part of the index at `folder` (its manifest must be readable: Manifest.read raises)."""
    import faiss

    manifest = Manifest.read(folder)
    prev = Previous(manifest)
    damaged = dict(file_problems(folder, manifest))
    prev.problems += [f"{rel} {damaged[rel]}: rebuilt from the passages" for rel in KEYWORD_FILES if rel in damaged]
    if DENSE in damaged:
        prev.problems.append(f"{DENSE} {damaged[DENSE]}: no vector reused")
    else:
        try:
            dense = faiss.read_index(str(folder / DENSE))
            prev.vectors = all_vectors(dense, manifest.dimension)
        except READ_ERRORS as e:
            prev.problems.append(f"{DENSE} cannot be read ({reason(e)}): no vector reused")
    if not (folder / PASSAGES).is_file():
        prev.problems.append(f"{PASSAGES} is missing: no row reused")
        return prev
    lines = _lines(folder / PASSAGES)
    bad = set(_bad_rows(lines, manifest.row_hashes))
    for i, line in enumerate(lines[:len(manifest.row_hashes)]):
        if i + 1 not in bad:
            prev.rows[i] = Passage.from_dict(json.loads(line))
    if bad:
        prev.problems.append(f"{PASSAGES} {_rows_text(sorted(bad))} no longer {_verb(bad, 'matches', 'match')} "
                             "the stored hash: re-embedded instead of reused")
    if prev.vectors is not None and len(prev.vectors) != len(manifest.row_hashes):
        prev.problems.append(f"{DENSE} has {len(prev.vectors)} vectors for {len(manifest.row_hashes)} rows: "
                             "no vector reused")
        prev.vectors = None
    return prev
