"""`python -m eval checks` (eval/commands/checks.py): catch rate and false alarms on labelled drafts."""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from eval.__main__ import main
from eval.commands.checks import ChecksEvalOptions, load_labelled, run_checks_eval

ROWS = [
    {"id": "t-1", "lang": "en", "message": "is shipping free?", "split": "tune", "label": "wrong",
     "errors": ["number"], "draft": "Shipping is free if you spend $45 [1].",
     "evidence": [{"source": "policies/shipping.en.md", "sentence": "Orders of ¥99 or more ship free."}]},
    {"id": "t-2", "lang": "zh", "message": "能货到付款吗", "split": "tune", "label": "right", "errors": [],
     "draft": "抱歉，目前还不能货到付款。",
     "evidence": [{"source": "policies/payment.zh.md", "sentence": "暂不支持货到付款，也不支持线下转账。"}]},
    {"id": "h-1", "lang": "zh", "message": "你们默认发什么快递", "split": "heldout", "label": "wrong",
     "errors": ["entity"], "draft": "默认从杭州发中通快递[1]。",
     "evidence": [{"source": "policies/shipping.zh.md", "sentence": "默认发中通快递。"}]},
]


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "drafts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n", encoding="utf-8")
    return path


def test_report_per_split_language_error_and_check(labelled):
    report = run_checks_eval(ChecksEvalOptions(eval_set=labelled, knowledge=None, show=True))
    tune, heldout = report.splits["tune"], report.splits["heldout"]
    assert tune["caught"] == {"hits": 1, "n": 1, "rate": 1.0}
    assert tune["false_alarms"] == {"hits": 0, "n": 1, "rate": 0.0}
    assert tune["by_error"]["number"]["hits"] == 1 and heldout["by_error"]["entity"]["hits"] == 1
    assert tune["by_check"]["unsupported_fact"] == {"wrong": 1, "right": 0}
    assert heldout["by_lang"]["zh"]["caught"]["rate"] == 1.0
    text = report.text()
    assert "tune" in text and "heldout" in text and "wrong drafts caught" in text
    assert report.to_dict()["misses"] == [] and report.to_dict()["false_alarms"] == []


def test_command_line_json(labelled, capsys):
    assert main(["checks", "--set", str(labelled), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["splits"]) == {"tune", "heldout"}


@pytest.mark.parametrize("content, fragment", [
    ("{not json\n", "not a labelled draft"),
    ('{"id": "x"}\n', "not a labelled draft"),
    (json.dumps({**ROWS[0], "label": "maybe"}) + "\n", "label must be one of"),
])
def test_bad_lines_name_the_line(tmp_path, content, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=fragment):
        load_labelled(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_labelled(tmp_path / "none.jsonl")
