import json
import os
import threading

import pytest

import index.build as build_mod
from index.build import build_index
from index.embed import HashEmbedder
from index.manifest import FORMAT_VERSION
from index.store import load_index
from core.errors import UserError


class CountingEmbedder(HashEmbedder):
    def __init__(self):
        super().__init__(256)
        self.texts: list[str] = []

    def encode_passages(self, texts):
        self.texts.extend(texts)
        return super().encode_passages(texts)


def sources(index_dir):
    return sorted({p.source for p in load_index(index_dir).passages})


def test_first_build_writes_inspectable_folder(kb, tmp_path, settings):
    out = tmp_path / "idx"
    summary = build_index(kb, out, settings)
    assert sorted(os.listdir(out)) == ["dense.faiss", "keyword", "manifest.json", "passages.jsonl"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["embedding_model"] == "hash:256"
    assert manifest["dimension"] == 256 and set(manifest["files"]) == set(sources(out))
    lines = (out / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary.passages == summary.added and summary.reused == 0
    assert summary.to_dict().keys() >= {"files", "passages", "added", "removed", "reused", "seconds"}


def test_incremental_update_reuses_unchanged_reembeds_changed_drops_deleted(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    before = {p.id: p for p in load_index(out).passages}
    (kb / "products/kettle.en.md").write_text("# Electric kettle\n## Specs\nCapacity 1.5L now.\n", encoding="utf-8")
    (kb / "policies/returns.en.md").unlink()
    emb = CountingEmbedder()
    summary = build_index(kb, out, settings, embedder=emb)
    assert emb.texts == ["Electric kettle › Specs\nCapacity 1.5L now."]  # only the changed file is embedded
    assert (summary.added, summary.full_rebuild) == (1, False)
    after = load_index(out)
    assert "policies/returns.en.md" not in sources(out)
    assert summary.removed == 3  # both old kettle chunks and the single returns chunk are gone
    unchanged = [p for p in after.passages if p.source == "faq/faq.csv"]
    assert unchanged and all(p.id in before for p in unchanged)
    # reused vectors are the same rows as a full rebuild would compute
    full = build_index(kb, tmp_path / "full", settings)
    assert full.passages == summary.passages
    import numpy as np
    assert np.allclose(load_index(tmp_path / "full").vectors(), after.vectors(), atol=1e-6)


def test_nothing_changed_embeds_nothing(kb, tmp_path, settings):
    out = tmp_path / "idx"
    first = build_index(kb, out, settings)
    emb = CountingEmbedder()
    again = build_index(kb, out, settings, embedder=emb)
    assert emb.texts == [] and again.reused == first.passages and again.added == 0 and again.removed == 0


def test_failed_build_leaves_previous_index_loadable(kb, tmp_path, settings, monkeypatch):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    before = [p.id for p in load_index(out).passages]
    (kb / "policies/new.en.md").write_text("# New\nNew policy text.", encoding="utf-8")

    def crash(folder, *args, **kwargs):
        (folder / "passages.jsonl").write_text("half-written", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(build_mod, "write_index", crash)
    with pytest.raises(OSError):
        build_index(kb, out, settings)
    assert [p.id for p in load_index(out).passages] == before
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".idx.building")]  # staging cleaned up


def test_broken_file_keeps_its_previous_version_and_others_update(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    old_faq = [p.id for p in load_index(out).passages if p.source == "faq/faq.csv"]
    (kb / "faq/faq.csv").write_bytes(b"question,answer\n\xff\xfe,broken\n")
    (kb / "policies/new.en.md").write_text("# New\nNew policy text.", encoding="utf-8")
    summary = build_index(kb, out, settings)
    assert [str(e) for e in summary.errors] == ["error: faq/faq.csv: cannot decode as UTF-8 (near line 2); "
                                                "save the file as UTF-8"]
    kept = [p.id for p in load_index(out).passages if p.source == "faq/faq.csv"]
    assert kept == old_faq and "policies/new.en.md" in sources(out)


def test_readers_during_swap_see_a_complete_index(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    errors: list[Exception] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                assert len(load_index(out).passages) > 0
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(5):
        (kb / "policies/new.en.md").write_text(f"# New\nVersion {i}.", encoding="utf-8")
        build_index(kb, out, settings)
    stop.set()
    t.join()
    assert errors == []


@pytest.mark.parametrize("setup, message", [
    (lambda kb: kb / "missing", "does not exist"),
    (lambda kb: (kb / "empty").mkdir() or kb / "empty", "has no .md, .txt, .csv or .jsonl files"),
])
def test_bad_knowledge_folder(kb, tmp_path, settings, setup, message):
    with pytest.raises(UserError, match=message):
        build_index(setup(kb), tmp_path / "idx", settings)


def test_refuses_to_overwrite_a_folder_that_is_not_an_index(kb, tmp_path, settings):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "precious.txt").write_text("keep me")
    with pytest.raises(UserError, match="exists and is not an index"):
        build_index(kb, tmp_path / "docs", settings)
    assert (tmp_path / "docs" / "precious.txt").read_text() == "keep me"


def test_other_model_or_version_is_a_clear_error(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    with pytest.raises(UserError, match="built with embedding model 'hash:256' but the settings use 'other'"):
        load_index(out, expect_model="other")
    m = json.loads((out / "manifest.json").read_text())
    m["format_version"] = 99
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="format version 99"):
        load_index(out)


def test_model_change_triggers_full_rebuild(kb, tmp_path, settings):
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    summary = build_index(kb, out, settings, embedder=HashEmbedder(128))
    assert summary.full_rebuild and summary.reused == 0
    assert load_index(out).manifest.embedding_model == "hash:128"


def test_shop_config_travels_with_index(kb, tmp_path, settings):
    (kb / "shop.yaml").write_text("shop:\n  name: Test Shop\n", encoding="utf-8")
    out = tmp_path / "idx"
    build_index(kb, out, settings)
    assert (out / "shop.yaml").read_text(encoding="utf-8") == "shop:\n  name: Test Shop\n"


def test_unchanged_rebuild_does_not_even_load_the_model(kb, tmp_path, settings, monkeypatch):
    out = tmp_path / "idx"
    build_index(kb, out, settings)

    def no_model(_settings):
        raise AssertionError("the embedding model was loaded although nothing changed")

    monkeypatch.setattr(build_mod, "embedder_for", no_model)
    assert build_index(kb, out, settings).reused > 0


def test_file_over_the_size_limit_is_refused_and_the_rest_indexed(kb, tmp_path, settings):
    (kb / "huge.txt").write_text("x" * 5_100_000, encoding="utf-8")  # one line, no sentence end
    (kb / "small.txt").write_text("y" * 3000, encoding="utf-8")
    out = tmp_path / "idx"
    summary = build_index(kb, out, settings)
    assert [str(e) for e in summary.errors] == [
        "error: huge.txt: the file is 5.1 MB, over the max_file_bytes limit of 5.0 MB; split it, or raise "
        "max_file_bytes in shop.yaml (settings:)"]
    small = [p for p in load_index(out).passages if p.source == "small.txt"]
    assert "huge.txt" not in sources(out) and len(small) == 8
    assert all(len(p.text) <= settings.chunk_max_chars for p in small)


def test_size_limit_is_a_setting(kb, tmp_path):
    from core.settings import load_settings

    (kb / "shop.yaml").write_text("settings:\n  max_file_bytes: 200\n", encoding="utf-8")
    summary = build_index(kb, tmp_path / "idx", load_settings(kb, embed_model="hash:256"))
    assert summary.errors and all("over the max_file_bytes limit of 0.2 kB" in e.message for e in summary.errors)


def test_binary_file_is_refused(kb, tmp_path, settings):
    (kb / "nul.md").write_bytes(b"\x00" * 20_000)
    summary = build_index(kb, tmp_path / "idx", settings)
    assert [e.source for e in summary.errors] == ["nul.md"] and "binary" in summary.errors[0].message
    assert "nul.md" not in sources(tmp_path / "idx")


def test_bad_rows_cost_only_themselves_and_an_all_bad_table_keeps_its_previous_version(kb, tmp_path, settings):
    out = tmp_path / "idx"
    (kb / "faq/more.jsonl").write_text('{"question": "A?", "answer": "a"}\n{"question": "B?", "answer": "b"}\n',
                                       encoding="utf-8")
    build_index(kb, out, settings)
    (kb / "faq/more.jsonl").write_text('{"question": "A?", "answer": "a2"}\n{broken\n', encoding="utf-8")
    summary = build_index(kb, out, settings)
    assert [str(e) for e in summary.errors] == ["error: faq/more.jsonl:2: invalid JSON (Expecting property name "
                                                "enclosed in double quotes); row skipped"]
    assert [p.text for p in load_index(out).passages if p.source == "faq/more.jsonl"] == ["a2"]
    (kb / "faq/more.jsonl").write_text('{broken\n', encoding="utf-8")
    summary = build_index(kb, out, settings)
    assert [p.text for p in load_index(out).passages if p.source == "faq/more.jsonl"] == ["a2"]
    assert "kept the previously indexed version" in [w.message for w in summary.problems if w.level == "warning"]
