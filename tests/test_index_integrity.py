"""A damaged, reordered or outdated index folder is detected with a one-line error and healed by one build."""
import json
import os
import time

import numpy as np
import pytest

from core.cli import run_main
from core.errors import UserError
from index.__main__ import main as index_main
from index.build import build_index
from index.manifest import FORMAT_VERSION, Manifest
from index.store import load_index, staging_dir
from index.verify import verify_index


@pytest.fixture(autouse=True)
def fake_embedder_env(monkeypatch):
    monkeypatch.setenv("COPILOT_EMBED_MODEL", "hash:256")


@pytest.fixture
def built(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    return out


def cli(argv, capsys):
    code = run_main(index_main, argv)
    out, err = capsys.readouterr()
    return code, out, err


def flip_byte(path, at=None):
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0x55
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def reverse_lines(path):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(reversed(lines)), encoding="utf-8")


DAMAGE = [
    ("keyword/postings.npz", truncate),
    ("keyword/postings.npz", flip_byte),
    ("keyword/vocab.json", flip_byte),
    ("keyword/doc_len.npy", truncate),
    ("dense.faiss", truncate),
    ("dense.faiss", lambda p: flip_byte(p, p.stat().st_size - 20)),
    ("passages.jsonl", reverse_lines),
    ("passages.jsonl", flip_byte),
    ("passages.jsonl", truncate),
]


@pytest.mark.parametrize("rel, damage", DAMAGE, ids=[f"{r}-{d.__name__}" for r, d in DAMAGE])
def test_verify_names_the_damaged_file_and_the_fix(built, kb, capsys, rel, damage):
    assert verify_index(built) == []
    damage(built / rel)
    code, out, err = cli(["verify", str(built)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert rel in err and f"python -m index build {kb.resolve()} --index {built}" in err


@pytest.mark.parametrize("rel, damage", DAMAGE, ids=[f"{r}-{d.__name__}" for r, d in DAMAGE])
def test_one_build_heals_any_damage(built, kb, tmp_path, settings, capsys, rel, damage):
    fresh = tmp_path / "fresh"
    build_index(kb, fresh, settings)
    damage(built / rel)
    build_index(kb, built, settings)
    assert verify_index(built) == []
    healed, reference = load_index(built), load_index(fresh)
    assert [p.to_dict() for p in healed.passages] == [p.to_dict() for p in reference.passages]
    assert np.allclose(healed.vectors(), reference.vectors(), atol=1e-6)


@pytest.mark.parametrize("rel, damage", [
    ("keyword/postings.npz", truncate), ("keyword/postings.npz", flip_byte), ("passages.jsonl", reverse_lines),
    ("passages.jsonl", truncate), ("dense.faiss", truncate)])
def test_opening_a_damaged_index_is_a_one_line_error(built, capsys, rel, damage):
    damage(built / rel)
    with pytest.raises(UserError) as e:
        load_index(built)
    assert rel in str(e.value) and "python -m index build" in str(e.value) and "\n" not in str(e.value)
    code, out, err = cli(["info", str(built)], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and rel in err


def test_reordered_rows_are_reembedded_never_reused(built, kb, settings):
    reverse_lines(built / "passages.jsonl")
    summary = build_index(kb, built, settings)
    n = summary.passages
    assert summary.reused == n % 2 and summary.added == n - n % 2  # only a middle row stays where it was
    assert any("passages.jsonl" in str(p) and "re-embedded" in str(p) for p in summary.problems)


def test_damaged_vectors_are_all_reembedded(built, kb, settings):
    flip_byte(built / "dense.faiss", (built / "dense.faiss").stat().st_size - 20)
    summary = build_index(kb, built, settings)
    assert summary.full_rebuild and summary.reused == 0
    assert any("dense.faiss" in str(p) for p in summary.problems)


def test_older_format_version_is_a_clear_error_and_rebuilt(built, kb, settings):
    m = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    m["format_version"] = 1
    (built / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(UserError, match=f"format version 1, this program reads version {FORMAT_VERSION}; rebuild"):
        load_index(built)
    assert build_index(kb, built, settings).full_rebuild
    assert verify_index(built) == []


def test_missing_manifest_error_names_the_users_path(built, capsys):
    (built / "manifest.json").unlink()
    code, out, err = cli(["info", str(built)], capsys)
    assert code == 2 and f"error: {built} is not an index (no manifest.json)" in err and "/proc/" not in err


def test_damaged_manifest_names_the_users_path(built):
    (built / "manifest.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(UserError, match=f"{built}/manifest.json is damaged") as e:
        load_index(built)
    assert "/proc/" not in str(e.value)


def test_manifest_records_checksums_and_rows(built):
    raw = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert raw["format_version"] == FORMAT_VERSION
    assert set(raw["index_files"]) == {"dense.faiss", "passages.jsonl", "keyword/vocab.json",
                                       "keyword/postings.npz", "keyword/doc_len.npy"}
    for rel, entry in raw["index_files"].items():
        assert entry["size"] == (built / rel).stat().st_size and len(entry["sha256"]) == 64
    assert len(raw["row_hashes"]) == raw["passages"] == len(load_index(built).passages)
    assert Manifest.from_dict(raw).to_dict() == raw


def test_info_shows_the_manifest_without_row_hashes(built, capsys):
    code, out, err = cli(["info", str(built)], capsys)
    info = json.loads(out)
    assert code == 0 and "row_hashes" not in info and info["embedding_model"] == "hash:256"
    assert info["files"]["faq/faq.csv"] == 5


def test_verify_clean_index_says_so(built, capsys):
    code, out, err = cli(["verify", str(built)], capsys)
    assert code == 0 and err == "" and out.startswith(f"{built}: ok (")


def test_text_with_unicode_line_separators_round_trips(kb, tmp_path, settings):
    answer = "line\u2028separator and\x85next line\x1c here"
    (kb / "odd.jsonl").write_text(json.dumps({"question": "Odd?", "answer": answer}, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    assert [p.text for p in load_index(out).passages if p.source == "odd.jsonl"] == [answer]
    assert verify_index(out) == []


# ------------------------------------------------------------------------------------- stale staging folders
def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_stale_staging_folders_of_killed_builds_are_removed(built, kb, settings):
    parent = built.parent
    dead = parent / f".idx.building-{_dead_pid()}-abc"
    old_alive = parent / f".idx.building-{os.getpid()}-old"
    recent_alive = parent / f".idx.building-{os.getpid()}-new"
    other_index = parent / f".other.building-{_dead_pid()}-xyz"
    unrelated = parent / ".idx.notes"
    for d in (dead, old_alive, recent_alive, other_index, unrelated):
        (d / "keyword").mkdir(parents=True)
        (d / "dense.faiss").write_bytes(b"x" * 1000)
    hour_ago = time.time() - 2 * 3600
    os.utime(old_alive, (hour_ago, hour_ago))
    build_index(kb, built, settings)
    assert not dead.exists() and not old_alive.exists()
    assert recent_alive.exists() and other_index.exists() and unrelated.exists()


def test_staging_folder_name_carries_the_writer_pid(tmp_path):
    stage = staging_dir(tmp_path / "idx")
    assert stage.name.startswith(f".idx.building-{os.getpid()}-") and stage.parent == tmp_path


def test_lost_manifest_is_healed_by_build(built, kb, settings):
    (built / "manifest.json").unlink()
    summary = build_index(kb, built, settings)
    assert summary.full_rebuild and verify_index(built) == []


def test_cli_build_heals_a_damaged_keyword_file_without_traceback(built, kb, capsys):
    flip_byte(built / "keyword/postings.npz")
    code, out, err = cli(["build", str(kb), "--index", str(built)], capsys)
    assert code == 0 and "Traceback" not in err and out.startswith("indexed 5 files")
    assert cli(["verify", str(built)], capsys)[0] == 0
