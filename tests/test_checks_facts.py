"""Table-driven tests for suggest/checks/numbers.py and facts.py: numbers and units normalised, figures found."""
from __future__ import annotations

import pytest

from suggest.checks.facts import Support, extract_facts
from suggest.checks.numbers import parse_number


# ------------------------------------------------------------------------------------------------ number normalisation
@pytest.mark.parametrize("token, value", [
    ("七", 7), ("十", 10), ("十五", 15), ("二十四", 24), ("两", 2), ("一百零五", 105), ("三百五十", 350),
    ("1,299", 1299), ("1.7", 1.7), ("seven", 7), ("twenty-four", 24), ("3万", 30000),
])
def test_parse_number(token, value):
    assert parse_number(token) == value


@pytest.mark.parametrize("forms", [
    ("7天", "七天", "7 days", "seven days", "7日"),
    ("48小时", "四十八小时", "48 hours"),
    ("¥12", "12元", "12 yuan", "RMB 12", "￥12", "12块"),
    ("3-5天", "3到5天", "3~5天", "3 to 5 days", "三到五天", "3-5 working days", "3到5个工作日"),
    ("20%", "百分之二十", "20 percent"),
    ("8.5折", "八五折", "85折"),
    ("1.7L", "1700ml", "1.7 litres"),
    ("1800W", "1800瓦", "1.8kW"),
    ("28cm", "280mm", "28厘米"),
    ("11月30日", "十一月三十日", "2026-11-30", "Nov 30", "30th November", "11月30号"),
    ("18:00", "6pm", "晚上6点"),
])
def test_equivalent_forms_normalise_to_one_key(forms):
    keys = {tuple(f.key for f in extract_facts(form)) for form in forms}
    assert len(keys) == 1, keys
    assert len(next(iter(keys))) == 1


@pytest.mark.parametrize("text, expected", [
    ("七天内发货，运费¥12，3到5个工作日送达[1]",
     [("day", (7.0,), "七天"), ("cny", (12.0,), "¥12"), ("day", (3.0, 5.0), "3到5个工作日")]),
    ("Use SAVE20 at https://shop.example.com/promo, or call 400-123-4567.",
     [("code", ("SAVE20",), "SAVE20"), ("url", ("shop.example.com/promo",), "https://shop.example.com/promo"),
      ("phone", ("4001234567",), "400-123-4567")]),
    ("1. 先申请退款\n2. 寄回商品【3】", []),  # list numbers and citation markers are not facts
    ("满99包邮", [("num", (99.0,), "99")]),  # 包邮 is free shipping, not "99 packs"
    ("一个问题，美好的一天，十分感谢，一定，一起", []),  # numerals inside ordinary words
    ("iPhone 15 Pro", [("num", (15.0,), "15")]),
    ("卡号 4111 1111 1111 1111", [("digits", ("4111111111111111",), "4111 1111 1111 1111")]),
])
def test_extract_facts(text, expected):
    assert [(f.cls, f.values, f.span) for f in extract_facts(text)] == expected


@pytest.mark.parametrize("passage,draft,backed", [
    ("身高168，体重60kg", "168cm", True),      # the customer's bare height backs it with a unit
    ("170-175", "170-175cm", True),
    ("满99包邮", "99元", True),
    ("满99包邮", "199元", False),
    ("1.7L", "1700ml", True),                  # same quantity, other unit
    ("身高168", "16.9cm", False),
])
def test_bare_numbers_back_the_same_figure_with_a_unit(passage, draft, backed):
    support = Support.of([passage])
    assert [support.backs(f) for f in extract_facts(draft)] == [backed]
