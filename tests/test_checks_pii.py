"""Table-driven tests for suggest/checks/pii.py: personal data found and masked (zh/en), checksums, and the
synthetic personal-data set built on them."""
from __future__ import annotations

import re

import pytest

from suggest.checks.pii import find_pii, id_card_valid, id_check_char, luhn_valid, mask_pii

VALID_ID = "11010519491231002X"  # the standard's own example, valid checksum
VALID_CARD = "4111111111111111"  # Luhn-valid test Visa


# ------------------------------------------------------------------------------------------------ personal data
@pytest.mark.parametrize("text, expected", [
    ("手机13812345678", [("phone", "13812345678")]),
    ("call +86 138 1234 5678 please", [("phone", "+86 138 1234 5678")]),
    ("电话138-1234-5678", [("phone", "138-1234-5678")]),
    ("UK: +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
    ("我的电话是+852 9123 4567", [("phone", "+852 9123 4567")]),
    ("座机010-88889999", [("phone", "010-88889999")]),
    ("mail amy.lee@example.com now", [("email", "amy.lee@example.com")]),
    (f"身份证{VALID_ID}", [("id_card", VALID_ID)]),
    (f"card {VALID_CARD}", [("card", VALID_CARD)]),
    ("卡号 4111 1111 1111 1111", [("card", "4111 1111 1111 1111")]),
    ("订单号 2026112312345678 没到", [("order_number", "2026112312345678")]),
    ("order #123456789 is late", [("order_number", "123456789")]),
    ("我住在北京市朝阳区建国路88号3栋501室", [("address", "北京市朝阳区建国路88号3栋501室")]),
    ("寄到成都市武侯区人民南路四段9号", [("address", "成都市武侯区人民南路四段9号")]),
    ("Ship to 221B Baker Street, Apt 4 please", [("address", "221B Baker Street, Apt 4")]),
    # near-misses: not personal data
    ("随机数 1234567812345678", []),  # 16 digits, Luhn-invalid: not a card
    ("身份证110105194912310021", []),  # wrong check character: not an ID card (and not Luhn-valid)
    ("价格1299元，7天无理由，2026-11-30发货，3-5天送达", []),
    ("型号1800W，28cm，42码", []),
    ("The barcode on the box reads 6901234567892.", []),  # EAN-13 that passes Luhn
    ("I walked 3 miles down the road", []),
    ("订单3件，单价99元", []),
])
def test_find_pii(text, expected):
    assert find_pii(text) == expected


@pytest.mark.parametrize("text, masked", [
    ("手机13812345678", "手机138****5678"),
    ("call +86 138 1234 5678", "call +86 138****5678"),
    ("UK: +44 20 7946 0958", "UK: +44 ****0958"),
    ("座机010-88889999", "座机010-****9999"),
    ("mail amy@example.com", "mail a***@example.com"),
    (f"身份证{VALID_ID}", "身份证[ID card]"),
    ("卡号 4111-1111-1111-1111", "卡号 **** **** **** 1111"),
    ("订单号 2026112312345678", "订单号 [order ****5678]"),
    ("order #123456789", "order #[order ****6789]"),
    ("我住在上海市浦东新区世纪大道100号", "我住在[address]"),
    ("Ship to 221B Baker Street.", "Ship to [address]."),
    ("随机数 1234567812345678", "随机数 1234567812345678"),
])
def test_mask_pii(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "手机13812345678，邮箱 amy@example.com，卡号 4111 1111 1111 1111",
    f"身份证{VALID_ID}，订单号2026112312345678，地址北京市朝阳区建国路88号",
    "Call +1 (415) 555-0123, ship to 12 Oak Avenue, order #987654321",
])
def test_mask_pii_is_idempotent_and_leaves_nothing(text):
    once = mask_pii(text)
    assert mask_pii(once) == once
    assert find_pii(once) == []


@pytest.mark.parametrize("number, valid", [
    (VALID_ID, True), ("11010519491231002x", True), ("110105194912310021", False),
    ("110105194913310020", False),  # month 13
])
def test_id_card_checksum(number, valid):
    assert id_card_valid(number) is valid


def test_id_check_char_completes_a_valid_id():
    assert id_check_char(VALID_ID[:17]) == VALID_ID[17]
    assert id_card_valid("11010519491231001" + id_check_char("11010519491231001"))


@pytest.mark.parametrize("digits, valid", [
    (VALID_CARD, True), ("4111111111111112", False), ("6011000990139424", True), ("1234567812345678", False),
])
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


# ------------------------------------------------------------------------------------------------ synthetic PII set
def test_pii_synth_is_seeded_and_valid():
    from eval.pii_synth import generate, masking_rate
    a, b = generate(60, seed=3), generate(60, seed=3)
    assert a == b and [p.value for _, ps in a for p in ps] == [p.value for _, ps in b for p in ps]
    assert generate(60, seed=4) != a
    for _, planted in a:
        for item in planted:
            if item == "card":
                assert luhn_valid(re.sub(r"\D", "", item.value))
            if item == "id_card":
                assert id_card_valid(item.value)
    rate = masking_rate(a)
    assert set(rate) >= {"planted", "removed", "rate", "by_kind", "false_positives", "clean_samples"}
    assert rate["rate"] >= 0.9 and rate["false_positives"] == 0
