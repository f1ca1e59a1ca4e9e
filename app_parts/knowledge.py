"""Edits to the knowledge folder from the maintainers' view, kept inside that folder whatever the input.

- `sanitise_upload_name`: a safe file name or a UserError (no folders, no hidden files, allowed types only);
- `save_upload` / `remove_source`: copy an uploaded file in, delete a knowledge file (checked to be inside);
- `read_entries` / `save_entry`: FAQ and emergency entries in `faq/faq.csv` / `faq/emergency.csv`;
- `source_rows`, `passage_rows`, `expired_rows`, `flagged_rows`: the tables the view shows.

>>> sanitise_upload_name("../../etc/passwd.md"), sanitise_upload_name("退货 政策.MD")
('passwd.md', '退货-政策.md')
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from core.errors import KnowledgeError, UserError
from core.types import Passage
from index.entries import validate_meta
from index.loaders import list_files, load_file
from index.manifest import Manifest

ALLOWED_UPLOAD = (".md", ".txt", ".csv", ".jsonl")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_STEM_CHARS = 80
RESERVED = {"shop.yaml", "readme.md", "con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} \
    | {f"lpt{i}" for i in range(10)}
ENTRY_TABLES = {"faq": "faq/faq.csv", "emergency": "faq/emergency.csv"}
ENTRY_COLUMNS = ("question", "answer", "kind", "keywords", "valid_from", "valid_until", "tags")
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def _clean_part(part: str) -> str:
    """One path part reduced to letters, digits, '.', '-' and '_' (any script); control and format characters
    (e.g. right-to-left overrides) removed; no leading dots, dashes or underscores."""
    part = unicodedata.normalize("NFKC", part)
    part = re.sub(r"\s+", "-", part.strip())
    part = "".join(ch for ch in part if not unicodedata.category(ch).startswith("C"))
    part = _UNSAFE.sub("_", part)
    part = re.sub(r"([._-])\1+", r"\1", part)
    return part.lstrip("._-").rstrip(". ")


def sanitise_upload_name(name: str) -> str:
    """The name an uploaded file is stored under: the last path component only (both separators), cleaned,
    with a lower-case allowed extension. Raises UserError for anything that cannot be made safe."""
    raw = (name or "").replace("\\", "/").split("/")[-1]
    clean = _clean_part(raw)
    stem, dot, ext = clean.rpartition(".")
    if not dot or not stem:
        raise UserError(f"file {name!r} has no allowed extension; upload {', '.join(ALLOWED_UPLOAD)} files")
    ext = "." + ext.lower()
    if ext not in ALLOWED_UPLOAD:
        raise UserError(f"file type {ext!r} of {name!r} is not allowed; upload {', '.join(ALLOWED_UPLOAD)} files")
    stem = stem.rstrip("._-")[:MAX_STEM_CHARS].rstrip("._-")
    if not stem:
        raise UserError(f"file name {name!r} has nothing usable left after cleaning; rename the file")
    final = stem + ext
    if final.lower() in RESERVED or stem.lower() in RESERVED:
        raise UserError(f"{final!r} is a reserved name; rename the file")
    return final


def sanitise_folder(folder: str) -> str:
    """A relative sub-folder (e.g. "policies" or "faq/2026"), each part cleaned; "" for the top level."""
    parts = [_clean_part(p) for p in (folder or "").replace("\\", "/").split("/")]
    parts = [p for p in parts if p and p not in (".", "..")]
    return "/".join(parts)


def inside(root: Path, rel: str) -> Path:
    """root/rel resolved, refused unless it stays inside root (symbolic links included)."""
    root = root.resolve()
    target = (root / rel).resolve()
    if target == root or not target.is_relative_to(root):
        raise UserError(f"{rel!r} is outside the knowledge folder")
    return target


def _validate_content(rel: str, data: bytes, max_chars: int) -> list[str]:
    """Problems the loader reports for this content; raises UserError when nothing in it could be indexed."""
    with tempfile.TemporaryDirectory(prefix="copilot-upload-check-") as tmp:
        path = Path(tmp) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        loaded = load_file(Path(tmp), path, max_chars)
    if loaded.failed or not loaded.passages:
        why = "; ".join(p.message for p in loaded.problems) or "no passages in it"
        raise UserError(f"{rel} was not saved: {why}")
    return [str(p) for p in loaded.problems]


def save_upload(knowledge_dir: str | Path, src: str | Path, original_name: str, folder: str = "",
                max_bytes: int = MAX_UPLOAD_BYTES, max_chars: int = 400) -> tuple[str, list[str]]:
    """Copy an uploaded file into the knowledge folder (sanitised name, chosen sub-folder) after checking its
    size and that the loader can read it. Returns (relative path, loader warnings)."""
    root = Path(knowledge_dir)
    name = sanitise_upload_name(original_name)
    sub = sanitise_folder(folder)
    rel = f"{sub}/{name}" if sub else name
    if rel.split("/")[0].lower() in ("rules", "shop.yaml"):
        raise UserError(f"{rel} would land in the shop configuration, not the knowledge; pick another folder")
    src = Path(src)
    size = src.stat().st_size
    if size > max_bytes:
        raise UserError(f"{original_name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    data = src.read_bytes()
    warnings = _validate_content(rel, data, max_chars)
    target = inside(root, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.uploading")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return rel, warnings


def knowledge_files(knowledge_dir: str | Path) -> list[str]:
    """Relative paths of the files the indexer reads."""
    root = Path(knowledge_dir)
    if not root.is_dir():
        return []
    files, _ = list_files(root)
    return [p.relative_to(root).as_posix() for p in files]


def remove_source(knowledge_dir: str | Path, rel: str) -> None:
    """Delete one knowledge file (only files the indexer reads; never configuration or anything outside)."""
    if rel not in knowledge_files(knowledge_dir):
        raise UserError(f"{rel!r} is not a knowledge file of this folder")
    inside(Path(knowledge_dir), rel).unlink()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_rows(knowledge_dir: str | Path, manifest: Manifest | None, passages: Sequence[Passage]
                ) -> list[list[Any]]:
    """[source, kinds, passages, status, last indexed] for every file on disk or in the index."""
    root = Path(knowledge_dir)
    indexed = manifest.files if manifest else {}
    built = manifest.built_at.replace("T", " ")[:19] if manifest else ""
    kinds: dict[str, set[str]] = defaultdict(set)
    for p in passages:
        kinds[p.source].add(p.kind)
    rows = []
    on_disk = knowledge_files(root)
    for rel in on_disk:
        entry = indexed.get(rel)
        if entry is None:
            status = "new (re-index to use)"
        elif entry.sha256 != _sha256(root / rel):
            status = "changed (re-index to use)"
        else:
            status = "indexed"
        rows.append([rel, ", ".join(sorted(kinds.get(rel, ()))), entry.passages if entry else 0, status,
                     built if entry else ""])
    for rel, entry in sorted(indexed.items()):
        if rel not in on_disk:
            rows.append([rel, ", ".join(sorted(kinds.get(rel, ()))), entry.passages,
                         "deleted (re-index to drop)", built])
    return rows


def _validity(p: Passage) -> str:
    if not (p.valid_from or p.valid_until):
        return ""
    return f"{p.valid_from or '…'} → {p.valid_until or '…'}"


def _preview(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


PASSAGE_HEADERS = ["id", "source", "kind", "title", "text", "valid", "flags"]


def passage_row(p: Passage) -> list[str]:
    return [p.id, p.source, p.kind, _preview(p.question or p.title, 80), _preview(p.text), _validity(p),
            ", ".join(f"{f}: {p.flag_reasons[f]}" if f in p.flag_reasons else f for f in p.flags)]


def passage_rows(passages: Sequence[Passage], query: str = "", kind: str = "", limit: int = 200) -> list[list[str]]:
    """Passages whose source, title, question, text or keywords contain every word of `query`."""
    words = [w.casefold() for w in (query or "").split()]
    out = []
    for p in passages:
        if kind and p.kind != kind:
            continue
        hay = " ".join([p.source, p.title, p.question, p.text, " ".join(p.keywords), p.id]).casefold()
        if all(w in hay for w in words):
            out.append(passage_row(p))
            if len(out) >= limit:
                break
    return out


def expired_rows(passages: Sequence[Passage], today: date) -> list[list[str]]:
    iso = today.isoformat()
    return [passage_row(p) for p in passages if p.valid_until and p.valid_until < iso]


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def conflicts(passages: Sequence[Passage]) -> dict[str, list[Passage]]:
    """Question/answer entries asking the same question (after normalising) with different answers. Emergency
    entries only conflict with emergency entries (they are meant to override the usual answer)."""
    groups: dict[tuple[str, bool], list[Passage]] = defaultdict(list)
    for p in passages:
        if p.question and p.kind in ("faq", "past_reply", "emergency"):
            groups[(_norm(p.question), p.kind == "emergency")].append(p)
    return {ps[0].question: ps for ps in groups.values() if len({_norm(p.text) for p in ps}) > 1}


def flagged_rows(passages: Sequence[Passage]) -> list[list[str]]:
    """Passages flagged at build time (planted instructions, duplicates) and conflicting answers."""
    rows = [passage_row(p) for p in passages if p.flags]
    for ps in conflicts(passages).values():
        for p in ps:
            row = passage_row(p)
            row[-1] = ", ".join([*p.flags, "conflict"])
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------ FAQ/emergency
def _table_path(knowledge_dir: str | Path, table: str) -> Path:
    if table not in ENTRY_TABLES:
        raise UserError(f"unknown table {table!r}; valid: {', '.join(ENTRY_TABLES)}")
    return Path(knowledge_dir) / ENTRY_TABLES[table]


def read_entries(knowledge_dir: str | Path, table: str) -> list[dict[str, str]]:
    """The rows of faq/faq.csv or faq/emergency.csv (empty when the file does not exist)."""
    path = _table_path(knowledge_dir, table)
    if not path.is_file():
        return []
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    if reader.fieldnames:
        reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    rows = []
    for row in reader:
        row = {k: (v or "") for k, v in row.items() if k}
        if "answer" not in row and "reply" in row:
            row["answer"] = row["reply"]
        rows.append(row)
    return rows


def validate_entry(entry: Mapping[str, str], table: str) -> dict[str, str]:
    """A cleaned entry (dates ISO, keywords ';'-joined) or a KnowledgeError naming the problem."""
    question, answer = (entry.get("question") or "").strip(), (entry.get("answer") or "").strip()
    if not question or not answer:
        raise KnowledgeError("an entry needs a question and an answer")
    kind = "emergency" if table == "emergency" else "faq"
    return {"question": question, "answer": answer, **validate_meta({**entry, "kind": kind}, kind).row()}


def save_entry(knowledge_dir: str | Path, table: str, entry: Mapping[str, str], row: int | None = None) -> int:
    """Append the entry (row=None) or replace row `row` (0-based) of the table; the file is rewritten
    atomically. Returns the row number of the entry."""
    clean = validate_entry(entry, table)
    path = _table_path(knowledge_dir, table)
    rows = read_entries(knowledge_dir, table)
    fieldnames = list(ENTRY_COLUMNS)
    for r in rows:
        fieldnames += [k for k in r if k not in fieldnames and k != "reply"]
    if row is None:
        rows.append(clean)
        index = len(rows) - 1
    else:
        if not 0 <= row < len(rows):
            raise UserError(f"{ENTRY_TABLES[table]} has no row {row + 1}")
        rows[row] = {**rows[row], **clean}
        index = row
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore", restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return index


def entry_choices(entries: Iterable[Mapping[str, str]]) -> list[tuple[str, int]]:
    return [(f"{i + 1}. {_preview(e.get('question', ''), 60)}", i) for i, e in enumerate(entries)]
