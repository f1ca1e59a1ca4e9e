"""The index folder: plain files a person can inspect, written to a temporary sibling and swapped in atomically.

    INDEX_DIR/
      manifest.json     format version, embedding model, build settings, per-file content hashes, build time,
                        sha256 and size of every file below, a hash of every passages.jsonl row (index/manifest.py)
      passages.jsonl    one Passage per line, row i = vector i of dense.faiss
      dense.faiss       FAISS index of unit vectors (inner product = cosine)
      keyword/          BM25 index (vocab.json, postings.npz, doc_len.npy)

Opening an index checks it cheaply (file sizes, the passages checksum, row counts); `index/verify.py` checks
every checksum.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.types import Passage
from index.keyword import KeywordIndex
from index.manifest import IndexFile, Manifest, row_hash, sha256_file

PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
KEYWORD = "keyword"
KEYWORD_FILES = ("keyword/vocab.json", "keyword/postings.npz", "keyword/doc_len.npy")
INDEX_FILES = (PASSAGES, DENSE, *KEYWORD_FILES)
HNSW_M = 32  # DESIGN §6: HNSW with M=32 measured 0.08-0.2 ms per query at 100k vectors
STALE_STAGING_S = 3600  # a staging folder this old is left over even if its writer's pid was reused
# What reading a damaged file raises (numpy's zip reader, faiss, json, file access).
READ_ERRORS = (OSError, ValueError, RuntimeError, KeyError, EOFError, TypeError, AttributeError,
               zipfile.BadZipFile, zlib.error)


@dataclass
class StoredIndex:
    folder: Path
    manifest: Manifest
    passages: list[Passage]
    dense: Any  # faiss.Index
    keyword: KeywordIndex

    def vectors(self) -> np.ndarray:
        """All stored vectors, row i for passage i."""
        return all_vectors(self.dense, self.manifest.dimension)


def all_vectors(dense: Any, dim: int) -> np.ndarray:
    n = dense.ntotal
    return dense.reconstruct_n(0, n) if n else np.zeros((0, dim), dtype=np.float32)


class Damaged(UserError):
    """An index file that does not match its manifest: names the file, what is wrong and the rebuild command."""

    def __init__(self, folder: Path, manifest: Manifest, rel: str, what: str) -> None:
        super().__init__(f"index {folder} is damaged: {rel} {what}; {manifest.rebuild_hint(folder)}")


def reason(e: Exception) -> str:
    """The first line of an exception's message, or its type when it has none."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def make_dense(vectors: np.ndarray, kind: str) -> Any:
    import faiss

    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    elif kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        raise UserError(f"unknown dense_index {kind!r}; valid: flat, hnsw")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(folder: Path, manifest: Manifest, passages: list[Passage], vectors: np.ndarray,
                keyword: KeywordIndex) -> None:
    """Write a complete index into `folder` (which must not be the live one); the manifest gets the row hashes
    and the checksum of every file written."""
    import faiss

    folder.mkdir(parents=True, exist_ok=True)
    faiss.write_index(make_dense(vectors, manifest.dense_index), str(folder / DENSE))
    keyword.save(folder / KEYWORD)
    manifest.row_hashes = []
    with open(folder / PASSAGES, "w", encoding="utf-8", newline="\n") as f:
        for p in passages:
            line = json.dumps(p.to_dict(), ensure_ascii=False)
            manifest.row_hashes.append(row_hash(line))
            f.write(line + "\n")
    manifest.passages = len(passages)
    manifest.index_files = {rel: IndexFile.of(folder / rel) for rel in INDEX_FILES}
    manifest.write(folder)  # last: a folder without a manifest is never treated as an index


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def swap_in(new: Path, live: Path) -> None:
    """Make `new` the live index. Readers see the old or the new folder, never a mix or nothing."""
    if not live.exists():
        os.replace(new, live)
        return
    if _exchange(new, live):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old index
        return
    old = live.with_name(live.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(live, old)  # brief window without an index on systems lacking renameat2
    os.replace(new, live)
    shutil.rmtree(old, ignore_errors=True)


def staging_dir(live: Path) -> Path:
    """A fresh temporary folder beside the live index (same filesystem, so the swap is a rename), named after
    the index and this process, so a later build can tell a killed build's leftovers."""
    live.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{live.name}.building-{os.getpid()}-", dir=live.parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(live: Path, max_age_s: float = STALE_STAGING_S) -> None:
    """Delete staging folders of this index left by killed builds: ours only (our name pattern, our uid), and
    only when their writer is gone or they are older than `max_age_s`."""
    prefix = f".{live.name}.building-"
    for path in live.parent.glob(glob.escape(prefix) + "*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        pid = path.name[len(prefix):].split("-")[0]
        writer_gone = pid.isdigit() and not _alive(int(pid))
        if writer_gone or time.time() - st.st_mtime > max_age_s:
            shutil.rmtree(path, ignore_errors=True)


def load_index(folder: str | Path, expect_model: str | None = None) -> StoredIndex:
    """Load an index folder, checking its format version, (when given) its embedding model, the sizes of its
    files, the passages checksum and the row counts.

    Every file is read through one directory handle, so a concurrent swap cannot mix two versions; when the
    folder was swapped away mid-read (its old copy is deleted), the load starts again on the new one.
    """
    folder = Path(folder)
    for attempt in range(3):
        if not folder.is_dir():
            Manifest.read(folder)  # raises the "no index" error
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            inode = os.fstat(fd).st_ino
            base = Path(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else folder
            return _load_from(base, folder, expect_model)
        except UserError:
            if attempt < 2 and folder.is_dir() and os.stat(folder).st_ino != inode:
                continue  # swapped while we read: load the new version
            raise
        finally:
            os.close(fd)
    raise AssertionError("unreachable")


def size_problem(path: Path, entry: IndexFile | None) -> str:
    """What is wrong with an index file's presence or size; "" when it has the size the manifest recorded."""
    if entry is None:
        return "has no checksum in the manifest"
    try:
        size = path.stat().st_size
    except OSError:
        return "is missing"
    return "" if size == entry.size else f"is {size} bytes, the manifest says {entry.size}"


def check_sizes(base: Path, folder: Path, manifest: Manifest) -> None:
    """Every index file is there with its recorded size (cheap: catches a truncated or missing file)."""
    for rel in INDEX_FILES:
        what = size_problem(base / rel, manifest.index_files.get(rel))
        if what:
            raise Damaged(folder, manifest, rel, what)


def _changed_keyword_file(base: Path, manifest: Manifest) -> str:
    """The keyword index is three files: name the one that no longer matches its checksum."""
    for rel in KEYWORD_FILES:
        try:
            if sha256_file(base / rel) != manifest.index_files[rel].sha256:
                return rel
        except OSError:
            return rel
    return KEYWORD


def read_passages(data: bytes) -> list[Passage]:
    """The passages of passages.jsonl (lines split at "\\n" only: a passage may hold U+2028 and the like)."""
    return [Passage.from_dict(json.loads(line)) for line in data.decode("utf-8").split("\n") if line.strip()]


def _load_from(base: Path, folder: Path, expect_model: str | None) -> StoredIndex:
    import faiss

    manifest = Manifest.read(base, folder)
    if expect_model is not None and manifest.embedding_model != expect_model:
        raise UserError(f"index {folder} was built with embedding model {manifest.embedding_model!r} "
                        f"but the settings use {expect_model!r}; {manifest.rebuild_hint(folder)}")
    check_sizes(base, folder, manifest)
    rel = PASSAGES
    try:
        data = (base / PASSAGES).read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.index_files[PASSAGES].sha256:
            raise Damaged(folder, manifest, PASSAGES, "does not match its checksum (edited or reordered?)")
        passages = read_passages(data)
        rel = DENSE
        dense = faiss.read_index(str(base / DENSE))
        rel = KEYWORD
        keyword = KeywordIndex.load(base / KEYWORD)
    except READ_ERRORS as e:
        if rel == KEYWORD:
            rel = _changed_keyword_file(base, manifest)
        why = reason(e).replace(str(base), str(folder))  # name the user's path, not /proc/self/fd/N
        raise Damaged(folder, manifest, rel, f"cannot be read ({why})") from None
    counts = {len(passages), dense.ntotal, len(keyword.doc_len), len(manifest.row_hashes)}
    if len(counts) > 1:
        raise Damaged(folder, manifest, PASSAGES, f"has {len(passages)} rows but {DENSE} has {dense.ntotal} "
                                                  f"vectors and the manifest {len(manifest.row_hashes)} rows")
    return StoredIndex(folder, manifest, passages, dense, keyword)
