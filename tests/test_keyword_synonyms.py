"""Query synonyms: the file format, the shop's own file, and the expansion (table-driven)."""
from __future__ import annotations

import pytest

from core.errors import UserError
from index.keyword import tokenize, tokenize_query
from index.synonyms import STOP_MARK, Synonyms, expand_query, load_synonyms

STOP = STOP_MARK + "多少"  # 多少 is a stop word: it takes part in matching, it is never searched
GROUPS = [
    [(STOP, "钱"), ("价格",), ("售价",)],
    [("哪里", "产"), ("产地",)],
    [("没", "收到"), ("延迟",)],
    [(STOP_MARK + "how", "much"), ("price",), ("cost",)],
]


@pytest.mark.parametrize("tokens, expected", [
    (["龙井", STOP, "钱"], ["龙井", STOP, "钱", "价格", "售价"]),
    (["售价"], ["售价", "钱", "价格"]),
    ([STOP, "龙井", "钱"], [STOP, "龙井", "钱"]),  # a phrase matches only in order...
    (["还", "没收", "到货"], ["还", "没收", "到货", "延迟"]),  # ...but Chinese ignores jieba's cut
    ([STOP_MARK + "how", "much", "kettle"], [STOP_MARK + "how", "much", "kettle", "price", "cost"]),
    (["much", "kettle"], ["much", "kettle"]),  # "much" alone is not "how much"
    (["产地", "价格"], ["产地", "价格", "钱", "售价"]),  # two groups; the phrase 哪里 + 产 is never added
    ([], []),
])
def test_expand_query(tokens, expected):
    assert expand_query(tokens, GROUPS) == expected


@pytest.mark.parametrize("text, groups", [
    ("多少钱 = 价格 = 售价", (("多少钱", "价格", "售价"),)),
    ("# comment\n\n how much=price = cost \n", (("how much", "price", "cost"),)),
    ("a = b = a\nc = d", (("a", "b"), ("c", "d"))),
])
def test_parse(text, groups):
    assert Synonyms.parse(text).groups == groups


@pytest.mark.parametrize("text", ["多少钱", "多少钱 = ", "= 价格"])
def test_parse_rejects_a_group_of_one(text):
    with pytest.raises(UserError, match=r"synonyms:1: a synonym group needs two or more members"):
        Synonyms.parse(text)


def test_bundled_file_is_a_reasonable_size_and_bilingual():
    groups = load_synonyms().groups
    assert 60 <= len(groups) <= 120
    flat = {m for g in groups for m in g}
    assert {"多少钱", "售价", "产地", "破损", "how much", "price"} <= flat


def test_shop_file_extends_the_bundled_groups(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    bundled = load_synonyms(rules)  # no shop file yet
    assert bundled == load_synonyms()
    (rules / "synonyms.txt").write_text("明前 = 头采 = 早春茶\n", encoding="utf-8")
    extended = load_synonyms(rules)
    assert extended.groups == bundled.groups + (("明前", "头采", "早春茶"),)
    assert "头采" in tokenize_query("有明前的吗", extended) and "头采" not in tokenize_query("有明前的吗", bundled)


def test_bad_shop_file_names_the_line(tmp_path):
    (tmp_path / "synonyms.txt").write_text("ok = fine\nlonely\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"synonyms.txt:2: a synonym group needs"):
        load_synonyms(tmp_path)


@pytest.mark.parametrize("question, must_have", [
    ("龙井多少钱一罐？", {"售价", "价格", "罐装"}),
    ("你们的龙井是哪里产的？", {"产地"}),
    ("收到的茶杯碎了怎么办", {"破损"}),
    ("How much is the kettle?", {"price", "cost"}),
])
def test_default_synonyms_reach_the_shop_words(question, must_have):
    assert must_have <= set(tokenize_query(question, load_synonyms()))


def test_without_synonyms_query_tokens_are_todays():
    for q in ("龙井多少钱一罐？", "Do you ship the Kettles to Tibet?", "功率多少瓦"):
        assert tokenize_query(q) == tokenize(q, query=True)


@pytest.mark.parametrize("text,tokens", [
    ("how many watts", ["many", "w"]),
    ("1800W", ["1800", "w"]),
    ("1.7 litres", ["1.7", "l"]),
    ("2.6 kilograms", ["2.6", "kg"]),
    ("功率多少瓦", ["功率", "w"]),
])
def test_unit_words_meet_unit_symbols(text, tokens):
    from index.keyword import tokenize

    assert tokenize(text, query=True) == tokens
