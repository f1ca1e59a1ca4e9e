"""The feedback record: what agents accepted, changed or rejected, in SQLite (standard library only).

Personal data is masked (`suggest.checks.mask_pii`) before anything is written. Accepted replies can be promoted
into the knowledge folder as past good replies (`promote_reply`), which the next index update picks up.

>>> edit_distance("kitten", "sitting")
3
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from core.errors import KnowledgeError, UserError
from index.entries import validate_meta
from suggest.checks import mask_pii

Mask = Callable[[str], str]
STATUSES = ("accepted", "rejected")
PROMOTED_FILE = "faq/promoted_replies.csv"
TABLE_COLUMNS = ("question", "answer", "kind", "keywords", "valid_from", "valid_until", "tags")
MAX_TEXT_CHARS = 8000  # longer fields are cut before storing (a reply box holds far less)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    history TEXT NOT NULL DEFAULT '[]',
    hits TEXT NOT NULL DEFAULT '[]',
    drafts TEXT NOT NULL DEFAULT '[]',
    draft_origin TEXT NOT NULL DEFAULT '',
    draft_text TEXT NOT NULL DEFAULT '',
    final_text TEXT NOT NULL DEFAULT '',
    edit_distance INTEGER,
    escalate INTEGER NOT NULL DEFAULT 0,
    checks TEXT NOT NULL DEFAULT '[]',
    timings TEXT NOT NULL DEFAULT '{}',
    promoted_at TEXT
);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_at);
"""
JSON_COLUMNS = ("history", "hits", "drafts", "checks", "timings")
EXPORT_COLUMNS = ("id", "created_at", "status", "reason", "language", "message", "draft_origin", "draft_text",
                  "final_text", "edit_distance", "escalate", "hit_sources", "hit_ids", "promoted_at", "timings",
                  "drafts")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two texts, counted in characters (insert, delete, substitute = 1 each).

    The common prefix and suffix are skipped first, so a small edit of a long reply stays cheap.

    >>> edit_distance("", "abc"), edit_distance("满99包邮", "满199包邮"), edit_distance("same", "same")
    (3, 1, 0)
    """
    if a == b:
        return 0
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def default_mask() -> Mask:
    """The checks' personal-data masking (phone numbers, e-mail addresses, ID and card numbers, addresses…)."""

    return mask_pii


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "…"


def _mask_check(check: Mapping[str, Any], mask: Mask) -> dict[str, Any]:
    out = dict(check)
    for key in ("message", "span", "sentence"):
        if isinstance(out.get(key), str):
            out[key] = mask(out[key])
    return out


def mask_suggestion_parts(suggestion: Mapping[str, Any], mask: Mask) -> tuple[list[dict], list[dict]]:
    """(hits, drafts) of a Suggestion dict reduced to what the record keeps, with every free text masked.
    Hits keep only id, source, title, kind and score: the passage text is in the knowledge folder already."""
    hits = [{"id": h.get("id"), "source": h.get("source"), "title": mask(str(h.get("title") or "")),
             "kind": h.get("kind"), "score": h.get("score")} for h in suggestion.get("hits") or []]
    drafts = [{"origin": d.get("origin"), "text": mask(_cut(str(d.get("text") or ""))),
               "citations": list(d.get("citations") or []),
               "checks": [_mask_check(c, mask) for c in d.get("checks") or []]}
              for d in suggestion.get("drafts") or []]
    return hits, drafts


class FeedbackStore:
    """One SQLite file; every write masks personal data first. Safe to share between threads."""

    def __init__(self, path: str | Path, mask: Mask | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._mask = mask
        self._lock = threading.Lock()
        with self._connect() as con:
            con.executescript(SCHEMA)

    @property
    def mask(self) -> Mask:
        if self._mask is None:
            self._mask = default_mask()
        return self._mask

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def record(self, *, status: str, message: str, suggestion: Mapping[str, Any] | None = None,
               history: Sequence[Mapping[str, str]] = (), draft_origin: str = "", draft_text: str = "",
               final_text: str = "", reason: str = "", checks: Sequence[Mapping[str, Any]] = (),
               timings: Mapping[str, float] | None = None) -> int:
        """Store one decision (masked) and return its id. `edit_distance` is computed between the masked draft
        and the masked final text (None when there was no draft or nothing was accepted)."""
        if status not in STATUSES:
            raise UserError(f"feedback status must be one of {', '.join(STATUSES)}, not {status!r}")
        if not (message or "").strip():
            raise UserError("nothing to record: there is no customer message")
        mask = self.mask
        suggestion = suggestion or {}
        hits, drafts = mask_suggestion_parts(suggestion, mask)
        draft_m, final_m = mask(_cut(draft_text or "")), mask(_cut(final_text or ""))
        distance = edit_distance(draft_m, final_m) if status == "accepted" and draft_m else None
        row = {
            "created_at": _now(), "status": status, "reason": mask(_cut(reason or "")),
            "language": str(suggestion.get("language") or ""), "message": mask(_cut(message)),
            "history": json.dumps([{"role": t.get("role", "customer"), "content": mask(_cut(t.get("content", "")))}
                                   for t in history], ensure_ascii=False),
            "hits": json.dumps(hits, ensure_ascii=False), "drafts": json.dumps(drafts, ensure_ascii=False),
            "draft_origin": draft_origin or "", "draft_text": draft_m, "final_text": final_m,
            "edit_distance": distance, "escalate": int(bool(suggestion.get("escalate"))),
            "checks": json.dumps([_mask_check(c, mask) for c in checks], ensure_ascii=False),
            "timings": json.dumps({k: round(float(v), 2) for k, v in (timings or {}).items()}),
        }
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._lock, self._connect() as con:
            cur = con.execute(f"INSERT INTO feedback ({cols}) VALUES ({marks})", tuple(row.values()))
            return int(cur.lastrowid)

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        for key in JSON_COLUMNS:
            d[key] = json.loads(d[key]) if d.get(key) else ([] if key != "timings" else {})
        d["escalate"] = bool(d["escalate"])
        return d

    def get(self, record_id: int) -> dict[str, Any]:
        with self._connect() as con:
            row = con.execute("SELECT * FROM feedback WHERE id = ?", (int(record_id),)).fetchone()
        if row is None:
            raise UserError(f"no feedback record #{record_id}")
        return self._row(row)

    def recent(self, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM feedback", []
        if status:
            query += " WHERE status = ?"
            args.append(status)
        query += " ORDER BY id DESC LIMIT ?"
        args.append(int(limit))
        with self._connect() as con:
            return [self._row(r) for r in con.execute(query, args).fetchall()]

    def all(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            return [self._row(r) for r in con.execute("SELECT * FROM feedback ORDER BY id").fetchall()]

    def mark_promoted(self, record_id: int) -> None:
        with self._lock, self._connect() as con:
            con.execute("UPDATE feedback SET promoted_at = ? WHERE id = ?", (_now(), int(record_id)))

    def stats(self) -> dict[str, Any]:
        with self._connect() as con:
            row = con.execute("SELECT COUNT(*), SUM(status = 'accepted'), SUM(status = 'rejected'), "
                              "AVG(CASE WHEN status = 'accepted' THEN edit_distance END) FROM feedback").fetchone()
        total, accepted, rejected, mean_edit = row
        return {"total": total or 0, "accepted": accepted or 0, "rejected": rejected or 0,
                "mean_edit_distance": round(mean_edit, 1) if mean_edit is not None else None}

    # ------------------------------------------------------------------------------------------------ export
    def export_rows(self) -> list[dict[str, Any]]:
        """Flat rows (one per record) for CSV: hit ids/sources joined by ';', timings and drafts as JSON."""
        out = []
        for r in self.all():
            out.append({
                **{k: r[k] for k in ("id", "created_at", "status", "reason", "language", "message",
                                     "draft_origin", "draft_text", "final_text", "edit_distance", "promoted_at")},
                "escalate": int(r["escalate"]),
                "hit_sources": ";".join(str(h.get("source")) for h in r["hits"]),
                "hit_ids": ";".join(str(h.get("id")) for h in r["hits"]),
                "timings": json.dumps(r["timings"], ensure_ascii=False),
                "drafts": json.dumps(r["drafts"], ensure_ascii=False),
            })
        return out

    def export_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with open(path, "w", encoding="utf-8-sig", newline="") as f:  # BOM: spreadsheets read it as UTF-8
            writer = csv.DictWriter(f, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for row in self.export_rows():
                writer.writerow({k: _csv_safe(v) for k, v in row.items()})
        return path

    def export_jsonl(self, path: str | Path) -> Path:
        path = Path(path)
        with open(path, "w", encoding="utf-8") as f:
            for row in self.all():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path


def _csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas in exported cells (a customer can type "=HYPERLINK(…)")."""
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r"):
        return "'" + value
    return value


# -------------------------------------------------------------------------------------------------- promote
_file_lock = threading.Lock()


def append_table_row(path: Path, row: Mapping[str, str]) -> None:
    """Append one row to a question/answer CSV, writing the header when the file is new. The existing header
    is kept (extra columns stay empty); a table without question/answer columns is refused."""
    with _file_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        fieldnames: list[str] = list(TABLE_COLUMNS)
        prefix = ""
        if path.is_file() and path.stat().st_size:
            text = path.read_text(encoding="utf-8-sig")
            header = next(csv.reader(io.StringIO(text)), [])
            names = [h.strip().lower() for h in header]
            if "question" not in names or not ({"answer", "reply"} & set(names)):
                raise UserError(f"{path.name} has no question/answer header; fix the file before adding rows")
            fieldnames = names
            prefix = "" if text.endswith("\n") else "\n"
            values = {("reply" if k == "answer" and "answer" not in names else k): v for k, v in row.items()}
            write_header = False
        else:
            values = dict(row)
            write_header = True
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore", restval="",
                                lineterminator="\n")
        if write_header:
            writer.writeheader()
        writer.writerow(values)
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(prefix + buf.getvalue())
            f.flush()
            os.fsync(f.fileno())


def promote_reply(knowledge_dir: str | Path, question: str, answer: str, *, mask: Mask, keywords: str = "",
                  valid_from: str = "", valid_until: str = "", tags: str = "promoted") -> dict[str, str]:
    """Append a reviewed, accepted reply to `<knowledge>/faq/promoted_replies.csv` as a past good reply.
    Both texts are masked again here (the reviewer may have typed personal data back in). Returns the row."""
    question, answer = mask((question or "").strip()), mask((answer or "").strip())
    if not question or not answer:
        raise KnowledgeError("a promoted reply needs both the customer's question and the reply")
    meta = validate_meta({"keywords": keywords, "tags": tags, "valid_from": valid_from, "valid_until": valid_until},
                         "past_reply")
    row = {"question": question, "answer": answer, **meta.row()}
    append_table_row(Path(knowledge_dir) / PROMOTED_FILE, row)
    return row
