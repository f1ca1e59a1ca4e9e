"""Build or update an index folder from a knowledge folder, re-embedding only files whose content changed."""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from index.embed import Embedder, embedder_for, embedder_id
from index.keyword import KeywordIndex, passage_tokens
from index.loaders import FileProblem, LoadedFile, list_files, load_file
from index.store import FORMAT_VERSION, StoredIndex, load_index, read_manifest, staging_dir, swap_in, write_index
from core.errors import UserError
from core.instructions import find_instructions
from core.settings import SHOP_FILE, Settings
from core.types import Passage

Progress = Callable[[int, int, str], None]  # (done, total, what) — the app shows it as a progress bar


@dataclass
class BuildSummary:
    files: int = 0
    passages: int = 0
    added: int = 0
    removed: int = 0
    reused: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    full_rebuild: bool = False
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FileProblem]:
        return [p for p in self.problems if p.level == "error"]

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "passages": self.passages, "added": self.added, "removed": self.removed,
                "reused": self.reused, "seconds": round(self.seconds, 3),
                "embed_seconds": round(self.embed_seconds, 3), "full_rebuild": self.full_rebuild,
                "errors": [str(p) for p in self.errors],
                "warnings": [str(p) for p in self.problems if p.level == "warning"]}


def embedding_text(p: Passage) -> str:
    """What the dense side embeds: the question (for Q/A rows) or the title, then the text."""
    head = p.question or p.title
    return f"{head}\n{p.text}" if head else p.text


def _previous(index_dir: Path, model_id: str, settings: Settings) -> tuple[StoredIndex | None, str]:
    """The existing index when it can be reused, else None with the reason for a full rebuild."""
    if not index_dir.exists():
        return None, "new index"
    if index_dir.is_dir() and not any(index_dir.iterdir()):
        return None, "new index"
    if not (index_dir / "manifest.json").is_file():
        raise UserError(f"{index_dir} exists and is not an index; choose an empty or new folder for --index")
    try:
        read_manifest(index_dir)
        old = load_index(index_dir)
    except UserError as e:
        return None, f"previous index not reusable ({e})"
    m = old.manifest
    if m.get("embedding_model") != model_id:
        return None, f"embedding model changed from {m.get('embedding_model')} to {model_id}"
    if m.get("chunk_max_chars") != settings.chunk_max_chars:
        return None, "chunk size changed"
    if m.get("embed_max_tokens") != settings.embed_max_tokens:
        return None, "embedding input length changed"
    return old, ""


def _unique_ids(passages: list[Passage]) -> None:
    """Identical chunks in one file would share an id: number the repeats."""
    seen: dict[str, int] = {}
    for p in passages:
        n = seen.get(p.id, 0)
        seen[p.id] = n + 1
        if n:
            p.id = f"{p.id}-{n + 1}"


def _flag(passages: list[Passage]) -> None:
    """Mark passages a maintainer should look at: instructions planted in data, exact duplicates."""
    seen_text: dict[str, str] = {}
    for p in passages:
        flags, reasons = [], {}
        planted = find_instructions(f"{p.question}\n{p.text}")
        if planted.flagged:
            flags.append("instruction")
            reasons["instruction"] = planted.reason
        key = " ".join(p.text.split()).lower()
        if key in seen_text and seen_text[key] != p.source + p.title:
            flags.append("duplicate")
        seen_text.setdefault(key, p.source + p.title)
        p.flags, p.flag_reasons = flags, reasons


def _embed(embedder: Embedder, passages: list[Passage], batch: int, progress: Progress | None) -> np.ndarray:
    if not passages:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    from tqdm import tqdm

    out = []
    bar = tqdm(total=len(passages), desc="embedding", unit="passage", file=sys.stderr,
               disable=None if progress is None else True)
    for start in range(0, len(passages), batch):
        chunk = passages[start:start + batch]
        out.append(embedder.encode([embedding_text(p) for p in chunk]))
        bar.update(len(chunk))
        if progress:
            progress(min(start + batch, len(passages)), len(passages), "embedding")
    bar.close()
    return np.vstack(out)


def _copy_shop_config(root: Path, stage: Path) -> None:
    """The shop voice and rule lists travel with the index, so `suggest --index DIR` needs nothing else."""
    if (root / SHOP_FILE).is_file():
        shutil.copy2(root / SHOP_FILE, stage / SHOP_FILE)
    if (root / "rules").is_dir():
        shutil.copytree(root / "rules", stage / "rules")


def build_index(knowledge_dir: str | Path, index_dir: str | Path, settings: Settings,
                progress: Progress | None = None, embedder: Embedder | None = None) -> BuildSummary:
    """Build INDEX_DIR from KNOWLEDGE_DIR, or update it in place; the live index is swapped atomically."""
    t0 = time.perf_counter()
    root, index_dir = Path(knowledge_dir), Path(index_dir)
    if not root.is_dir():
        raise UserError(f"knowledge folder {root} does not exist; pass the folder with your documents and tables")
    files, problems = list_files(root)
    if not files:
        raise UserError(f"knowledge folder {root} has no .md, .txt, .csv or .jsonl files; add some and build again")
    model_id = embedder.model_id if embedder else embedder_id(settings)
    old, why_full = _previous(index_dir, model_id, settings)
    summary = BuildSummary(files=len(files), problems=problems, full_rebuild=old is None)

    old_by_source: dict[str, list[int]] = {}
    old_vectors = None
    if old is not None:
        for i, p in enumerate(old.passages):
            old_by_source.setdefault(p.source, []).append(i)
        old_vectors = old.vectors()
    old_files = old.manifest.get("files", {}) if old else {}

    passages: list[Passage] = []
    reuse_rows: list[int] = []  # for each kept passage, its row in the old index (-1 = embed it)
    manifest_files: dict[str, Any] = {}
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), "reading files")
        loaded: LoadedFile = load_file(root, path, settings.chunk_max_chars)
        summary.problems.extend(loaded.problems)
        before = len(passages)
        prev = old_files.get(loaded.source)
        keep_old = prev is not None and (prev.get("sha256") == loaded.sha256 or loaded.failed)
        if keep_old and loaded.source in old_by_source:
            rows = old_by_source[loaded.source]
            passages.extend(old.passages[r] for r in rows)  # type: ignore[union-attr]
            reuse_rows.extend(rows)
            sha = prev["sha256"]
            if loaded.failed:
                summary.problems.append(FileProblem(loaded.source, 0, "kept the previously indexed version",
                                                    "warning"))
        else:
            passages.extend(loaded.passages)
            reuse_rows.extend([-1] * len(loaded.passages))
            sha = loaded.sha256
        if not loaded.failed or keep_old:
            manifest_files[loaded.source] = {"sha256": sha, "passages": len(passages) - before}
    if not passages:
        raise UserError(f"no passages could be read from {root}: "
                        + "; ".join(str(p) for p in summary.errors[:3]))

    _unique_ids(passages)
    _flag(passages)
    to_embed = [p for p, r in zip(passages, reuse_rows) if r < 0]
    t_embed = time.perf_counter()
    if to_embed or old is None:  # the model loads (seconds) only when something needs embedding
        embedder = embedder or embedder_for(settings)
        dim = embedder.dim
        new_vectors = _embed(embedder, to_embed, settings.embed_batch_size, progress)
    else:
        dim = int(old.manifest["dimension"])
        new_vectors = np.zeros((0, dim), dtype=np.float32)
    summary.embed_seconds = time.perf_counter() - t_embed
    vectors = np.zeros((len(passages), dim), dtype=np.float32)
    new_iter = iter(new_vectors)
    for row, r in enumerate(reuse_rows):
        vectors[row] = old_vectors[r] if r >= 0 else next(new_iter)  # type: ignore[index]

    if progress:
        progress(len(files), len(files), "writing index")
    keyword = KeywordIndex.build([passage_tokens(p.title, p.question, p.text, p.keywords) for p in passages])
    summary.passages = len(passages)
    summary.reused = sum(1 for r in reuse_rows if r >= 0)
    summary.added = len(passages) - summary.reused
    summary.removed = (len(old.passages) - summary.reused) if old else 0
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedding_model": model_id,
        "dimension": dim,
        "dense_index": settings.dense_index,
        "chunk_max_chars": settings.chunk_max_chars,
        "embed_max_tokens": settings.embed_max_tokens,
        "tokenizer": "jieba-search+en-light-stem",
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "knowledge_dir": str(root.resolve()),
        "passages": len(passages),
        "full_rebuild_reason": why_full,
        "files": manifest_files,
    }
    stage = staging_dir(index_dir)
    try:
        write_index(stage, manifest, passages, vectors, keyword, settings.dense_index)
        _copy_shop_config(root, stage)
        swap_in(stage, index_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    return summary
