"""The UI texts (both languages, the same keys, loud failures) and the page's labels following the UI language:
the switch and the automatic switch after a message relabel every component that has a text in both languages."""
from __future__ import annotations

import json

import gradio as gr
import pytest

from app_parts.agent_view import agent_handlers
from app_parts.texts import LANGS, TEXTS, TEXTS_FILE, choices, load_texts, t
from app_parts.ui import Labels
from core.types import KINDS
from tests.test_app_service import _final, make_service


def test_both_languages_have_the_same_keys():
    assert set(TEXTS) == set(LANGS) and set(TEXTS["en"]) == set(TEXTS["zh"])
    assert load_texts(TEXTS_FILE) == TEXTS


def test_no_key_is_written_twice():  # json.loads keeps the last of two equal keys silently (e.g. after a merge)
    def pairs(items):
        keys = [k for k, _ in items]
        assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
        return dict(items)

    json.loads(TEXTS_FILE.read_text(encoding="utf-8"), object_pairs_hook=pairs)


@pytest.mark.parametrize("drop, error", [("zh_key", "keys in one language only: \\['accept'\\]"),
                                         ("language", "expected the languages")])
def test_a_key_or_language_missing_fails_at_load(tmp_path, drop, error):
    tables = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
    if drop == "zh_key":
        del tables["zh"]["accept"]
    else:
        del tables["zh"]
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(tables, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_texts(path)


@pytest.mark.parametrize("call", [lambda: t("en", "no_such_key"), lambda: t("fr", "accept"),
                                  lambda: t("en", "reject_reasons"), lambda: choices("en", "accept")])
def test_unknown_keys_and_wrong_kinds_are_key_errors(call):
    with pytest.raises(KeyError):
        call()


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_the_html_asks_for_exists(lang):
    for key in [f"kind_{k}" for k in KINDS] + ["composed", "saved_reply", "model", "holding", "check_back",
                                               "check_error", "check_warning", "check_info", "not_in_kb"]:
        assert t(lang, key)
    assert t(lang, "accepted", id=1, dist=2) and len(choices(lang, "reject_reasons")) == 6


def test_labels_build_in_english_and_update_per_language():
    labels = Labels()
    with gr.Blocks():
        box = labels.make(gr.Textbox, {"label": "message", "placeholder": "message_ph"})
        drop = labels.make(gr.Dropdown, {"label": "reject_reason",
                                         "choices": lambda lang: choices(lang, "reject_reasons")})
    assert box.label == "Customer message" and drop.label == t("en", "reject_reason")
    assert labels.components == [box, drop]
    zh = labels.updates("zh")
    assert zh[0] == gr.update(label="客户消息", placeholder=t("zh", "message_ph"))
    assert zh[1]["choices"] == choices("zh", "reject_reasons")


@pytest.fixture
def app_and_service(tmp_path, kb):
    import app

    service = make_service(tmp_path, kb)
    demo = app.create_app(service)
    yield demo, service
    service.close()


def _relabels(demo):
    return [fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "relabel"]


def _by_elem_id(fn, updates):
    return {block.elem_id: update for block, update in zip(fn.outputs, updates) if block.elem_id}


def test_every_label_follows_the_switch_and_the_message_language(app_and_service):
    demo, service = app_and_service
    relabels = _relabels(demo)
    assert len(relabels) == 3  # the switch, and after Suggest and Regenerate
    fn = relabels[0]
    zh = fn.fn("zh", None)
    en = fn.fn("en", None)
    assert len(zh) == len(fn.outputs) > 40
    for z, e, block in zip(zh, en, fn.outputs):  # every text differs between the languages
        assert all(z[k] != e[k] for k in z if k != "__type__"), (block, z, e)
    ids = _by_elem_id(fn, zh)
    assert ids["message-box"]["label"] == "客户消息" and ids["suggest-btn"]["value"] == "生成建议"
    assert ids["tab-agent"]["label"] == "客服工作台" and ids["reindex-btn"]["value"] == "↻ 重建索引"
    assert ids["history-box"]["placeholder"] == t("zh", "history_ph")
    assert _by_elem_id(fn, en)["message-box"]["label"] == "Customer message"

    # "auto": after a Chinese message the page is Chinese, after an English one English again
    h = agent_handlers(service)
    drafts, sources = h["empty_panels"]("zh", None)
    assert t("zh", "waiting") in drafts and t("zh", "sources") in sources
    *_, state = _final(h["suggest"]("满多少包邮？", "", "auto", None))
    assert _by_elem_id(fn, fn.fn("auto", state))["suggest-btn"]["value"] == "生成建议"
    *_, state = _final(h["suggest"]("Do you offer gift wrapping?", "", "auto", state))
    assert _by_elem_id(fn, fn.fn("auto", state))["suggest-btn"]["value"] == "Suggest reply"
    assert _by_elem_id(fn, fn.fn("zh", state))["suggest-btn"]["value"] == "生成建议"  # the switch wins
    assert h["empty_panels"]("zh", state) == (gr.update(), gr.update())  # a shown suggestion stays as it is
