"""Build or update an index folder from a knowledge folder, re-embedding only passages whose text changed.

Vectors are taken over from the previous index only where its row still matches the hash in its manifest and
dense.faiss its checksum, so a damaged or reordered index heals in one build.
"""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.errors import UserError
from core.settings import SHOP_FILE, Settings
from core.types import Passage
from index.embed import Embedder, embedder_for, embedder_id
from index.keyword import KeywordIndex, passage_tokens
from index.loaders import FileProblem, list_files, load_file
from index.manifest import MANIFEST, KnowledgeFile, Manifest
from index.planted import PlantDetector
from index.sentences import SENTENCES_FILE, SentenceStore, build_sentence_store
from index.store import DENSE, KEYWORD, PASSAGES, remove_stale_staging, staging_dir, swap_in, write_index
from index.verify import Previous, read_previous

Progress = Callable[[int, int, str], None]  # (done, total, what) — the app shows it as a progress bar
# What an index folder holds: a folder of only these names is an index even when its manifest was lost.
INDEX_NAMES = {MANIFEST, PASSAGES, DENSE, KEYWORD, SHOP_FILE, "rules", SENTENCES_FILE}


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


def _previous(index_dir: Path, model_id: str, settings: Settings) -> tuple[Previous | None, str]:
    """What can be reused of the existing index, or None with the reason for a full rebuild."""
    names = {p.name for p in index_dir.iterdir()} if index_dir.is_dir() else set()
    if not index_dir.exists() or (index_dir.is_dir() and not names):
        return None, "new index"
    if not (index_dir / MANIFEST).is_file():
        if names and names <= INDEX_NAMES and {PASSAGES, DENSE} & names:
            return None, f"{MANIFEST} was missing"
        raise UserError(f"{index_dir} exists and is not an index; choose an empty or new folder for --index")
    try:
        prev = read_previous(index_dir)
    except UserError as e:
        return None, f"previous index not reusable ({e})"
    m = prev.manifest
    if m.embedding_model != model_id:
        return None, f"embedding model changed from {m.embedding_model} to {model_id}"
    if m.chunk_max_chars != settings.chunk_max_chars:
        return None, "chunk size changed"
    if m.embed_max_tokens != settings.embed_max_tokens:
        return None, "embedding input length changed"
    if prev.vectors is None:
        return prev, "; ".join(prev.problems)
    return prev, ""


def _read_files(root: Path, files: list[Path], settings: Settings, prev: Previous | None, summary: BuildSummary,
                progress: Progress | None) -> tuple[list[Passage], dict[str, KnowledgeFile]]:
    """The passages of every file; a file that cannot be read now keeps its previously indexed passages."""
    old_by_source: dict[str, list[Passage]] = {}
    for _, p in sorted(prev.rows.items() if prev else []):
        old_by_source.setdefault(p.source, []).append(p)
    old_files = prev.manifest.files if prev else {}
    passages: list[Passage] = []
    indexed: dict[str, KnowledgeFile] = {}
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), "reading files")
        loaded = load_file(root, path, settings.chunk_max_chars, settings.max_file_bytes)
        summary.problems.extend(loaded.problems)
        if not loaded.failed:
            passages.extend(loaded.passages)
            indexed[loaded.source] = KnowledgeFile(loaded.sha256, len(loaded.passages))
        elif loaded.source in old_files:
            kept = old_by_source.get(loaded.source, [])
            passages.extend(kept)
            indexed[loaded.source] = KnowledgeFile(old_files[loaded.source].sha256, len(kept))
            if kept:
                summary.problems.append(FileProblem(loaded.source, 0, "kept the previously indexed version",
                                                    "warning"))
    return passages, indexed


def _unique_ids(passages: list[Passage]) -> None:
    """Identical chunks in one file would share an id: number the repeats."""
    seen: dict[str, int] = {}
    for p in passages:
        n = seen.get(p.id, 0)
        seen[p.id] = n + 1
        if n:
            p.id = f"{p.id}-{n + 1}"


def _flag(passages: list[Passage], detector: PlantDetector) -> None:
    """Mark passages a maintainer should look at: instructions planted in data, exact duplicates."""
    seen_text: dict[str, str] = {}
    findings = detector.findings([f"{p.question}\n{p.text}" for p in passages])
    for p, planted in zip(passages, findings):
        flags, reasons = [], {}
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
        out.append(embedder.encode_passages([embedding_text(p) for p in chunk]))
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
                progress: Progress | None = None, embedder: Embedder | None = None,
                detector: PlantDetector | None = None) -> BuildSummary:
    """Build INDEX_DIR from KNOWLEDGE_DIR, or update it in place; the live index is swapped atomically.
    `detector` finds planted instructions (default: the one the settings ask for)."""
    t0 = time.perf_counter()
    root, index_dir = Path(knowledge_dir), Path(index_dir)
    if not root.is_dir():
        raise UserError(f"knowledge folder {root} does not exist; pass the folder with your documents and tables")
    files, problems = list_files(root)
    if not files:
        raise UserError(f"knowledge folder {root} has no .md, .txt, .csv or .jsonl files; add some and build again")
    model_id = embedder.model_id if embedder else embedder_id(settings)
    remove_stale_staging(index_dir)
    prev, why_full = _previous(index_dir, model_id, settings)
    summary = BuildSummary(files=len(files), problems=problems)
    if prev is not None:
        summary.problems.extend(FileProblem(str(index_dir), 0, p, "warning") for p in prev.problems)
    passages, indexed = _read_files(root, files, settings, prev, summary, progress)
    if not passages:
        raise UserError(f"no passages could be read from {root}: "
                        + "; ".join(str(p) for p in summary.errors[:3]))

    _unique_ids(passages)
    _flag(passages, detector or PlantDetector.open(settings))
    old_vectors = prev.vectors if prev is not None else None
    reusable = {} if old_vectors is None else {embedding_text(p): row for row, p in prev.rows.items()}
    reuse_rows = [reusable.get(embedding_text(p), -1) for p in passages]  # row in the old index, -1 = embed
    summary.full_rebuild = old_vectors is None
    to_embed = [p for p, r in zip(passages, reuse_rows) if r < 0]
    t_embed = time.perf_counter()
    if to_embed:  # the model loads (seconds) only when something needs embedding
        embedder = embedder or embedder_for(settings)
        dim, described = embedder.dim, embedder.describe()
        new_vectors = _embed(embedder, to_embed, settings.embed_batch_size, progress)
    else:
        dim, described = prev.manifest.dimension, prev.manifest.embedder  # type: ignore[union-attr]
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
    new_texts = {embedding_text(p) for p in passages}
    summary.removed = sum(1 for p in (prev.rows.values() if prev else []) if embedding_text(p) not in new_texts)
    manifest = Manifest(embedding_model=model_id, dimension=dim, embedder=described, dense_index=settings.dense_index,
                        chunk_max_chars=settings.chunk_max_chars, embed_max_tokens=settings.embed_max_tokens,
                        knowledge_dir=str(root.resolve()), full_rebuild_reason=why_full, files=indexed)
    t_sentences = time.perf_counter()
    loaded: list[Embedder] = [embedder] if embedder is not None else []

    def encode(texts: list[str]) -> np.ndarray:  # the model loads only when a sentence is new
        if not loaded:
            loaded.append(embedder_for(settings))
        return loaded[0].encode_passages(texts)

    sentences = build_sentence_store(passages, encode, dim,
                                     SentenceStore.load(index_dir) if old_vectors is not None else None,
                                     settings.embed_batch_size)
    summary.embed_seconds += time.perf_counter() - t_sentences
    stage = staging_dir(index_dir)
    try:
        write_index(stage, manifest, passages, vectors, keyword)
        sentences.save(stage)  # an optional extra, outside the manifest: evidence selection works without it
        _copy_shop_config(root, stage)
        swap_in(stage, index_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    return summary
