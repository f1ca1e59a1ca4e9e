"""The answerable gate: features, the model file, fitting and the threshold choice (pure, no model)."""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.types import Hit, Passage
from eval.gate_fit import choose_threshold, fit_gate
from suggest.answerable import FEATURES, GATE_FILE, gate_features, load_gate, read_gate


def hit(text: str, score: float = 0.9, dense: float = 0.88) -> Hit:
    return Hit(Passage("p1", "faq.csv", "包邮", text, kind="faq", question="满多少包邮？"), score, dense_score=dense)


@pytest.mark.parametrize("message,hits,evidence,expected", [
    ("在吗", [], 0.0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.067]),
    ("满多少包邮", [hit("全店实付满99元包邮")], 0.7, [0.7, 0.88, 0.9, 0.333, 1.0, 0.167]),
    ("how much is shipping to Tibet?", [hit("全店实付满99元包邮")], 0.2, [0.2, 0.88, 0.9, 0.5, 0.0, 1.0]),
])
def test_features(message, hits, evidence, expected):
    assert [round(v, 3) for v in gate_features(message, hits, evidence)] == expected


def test_another_embedder_falls_back_to_the_evidence_score():
    gate = load_gate()
    assert gate.answerable("hash:256", [0.5, 0, 0, 0, 0, 0]) == (True, 0.5)
    assert gate.answerable("hash:256", [0.3, 1, 1, 1, 1, 1]) == (False, 0.3)


def test_the_shipped_gate_loads_and_orders_specific_above_vague():
    gate = load_gate()
    assert gate.features == FEATURES and 0.3 <= gate.threshold <= 0.95
    specific = gate.probability(gate_features("满多少包邮？运费多少", [hit("全店实付满99元包邮，不满99元运费8元")], 0.8))
    vague = gate.probability(gate_features("嗯", [hit("全店实付满99元包邮")], 0.3))
    assert specific > gate.threshold > vague


@pytest.mark.parametrize("change,message", [
    ({"format_version": 9}, "format 9"),
    ({"features": ["evidence"]}, "features"),
    ({"weights": None}, "incomplete"),
])
def test_a_broken_gate_file_is_one_clear_error(change, message):
    data = {**json.loads(GATE_FILE.read_text(encoding="utf-8")), **change}
    with pytest.raises(UserError, match=message):
        read_gate(data, "answerable.json")


def test_fit_is_deterministic_and_separates():
    records = [{"features": [e, 0.9, 0.9, w, o, w], "answerable": y}
               for e, w, o, y in [(0.8, 1.0, 0.9, True), (0.7, 0.8, 0.6, True), (0.6, 0.9, 0.7, True),
                                  (0.2, 0.1, 0.0, False), (0.3, 0.2, 0.1, False), (0.25, 0.0, 0.0, False)]]
    a, b = fit_gate(records, "e5", 0.45), fit_gate(records, "e5", 0.45)
    assert a == b
    assert all((a.probability(r["features"]) >= a.threshold) == r["answerable"] for r in records)


@pytest.mark.parametrize("probs,labels,expected", [
    ([0.9, 0.8, 0.4, 0.35], [True, True, False, True], 0.41),   # stop before the first false one
    ([0.9, 0.8, 0.7], [True, True, True], 0.3),                  # all right: the lowest threshold takes them all
    ([0.9, 0.8], [False, False], 0.95),                          # never precise: the highest threshold
])
def test_choose_threshold(probs, labels, expected):
    assert choose_threshold(probs, labels) == expected
