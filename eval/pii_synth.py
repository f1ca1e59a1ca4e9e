"""Synthetic bilingual customer messages with planted personal data, and the masking rate of `mask_pii`.

    python -m eval.pii_synth --n 500 --json

`generate(n, seed)` returns (text, planted) pairs; `planted` lists the kinds planted in the text, each item a
`Planted` string (the kind) that also carries the exact planted `.value`. About CLEAN_SHARE of the samples carry
no personal data but plenty of look-alike figures (prices, dates, sizes, Luhn-invalid numbers): what
`mask_pii` changes there counts as false positives.

>>> rate = masking_rate(generate(50, seed=1))
>>> rate["planted"] > 0 and 0.0 <= rate["rate"] <= 1.0
True
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Sequence

from suggest.checks.pii import find_pii, id_check_char, mask_pii

KINDS = ("phone", "email", "id_card", "card", "order_number", "address")
CLEAN_SHARE = 0.2  # share of samples with no personal data (false-positive probe)
MAX_ITEMS = 3  # a message plants 1..MAX_ITEMS items

_REGIONS = ("110101", "110105", "310104", "440305", "330106", "510107", "420102", "320102")
_MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "157", "166", "177", "186", "189", "199")
_INTL = ("+1 415 555 {a:04d}", "+44 20 7946 {a:04d}", "+852 9{b:03d} {a:04d}", "+81 90-{a:04d}-{b:04d}",
         "+65 9{b:03d} {a:04d}", "+1 (212) 555-{a:04d}")
_NAMES = ("amy", "li.wei", "zhang_san", "john.smith", "kate99", "wang.fang", "mike_t")
_DOMAINS = ("example.com", "mail.example.cn", "qq.com", "163.com", "outlook.com")
_ZH_CITIES = (("浙江省", "杭州市", "西湖区"), ("", "北京市", "朝阳区"), ("", "上海市", "浦东新区"),
              ("广东省", "深圳市", "南山区"), ("四川省", "成都市", "武侯区"))
_ZH_ROADS = ("文三路", "建国路", "世纪大道", "科技园南路", "人民南路", "中山东一路")
_EN_STREETS = ("Main Street", "Baker Street", "Oak Avenue", "Elm Road", "Sunset Boulevard", "King Lane")

_TEMPLATES = {
    "zh": {
        "phone": ("我的手机号是{v}，有消息请联系我", "电话{v}，快递到了打给我", "收件人电话：{v}"),
        "email": ("发票请发到邮箱{v}", "我的邮箱是 {v} ，麻烦发一下电子保修卡"),
        "id_card": ("实名认证的身份证号是{v}", "身份证{v}，清关需要的话用这个"),
        "card": ("退款请退到这张卡：{v}", "我的银行卡号 {v} 扣了两次款"),
        "order_number": ("订单号{v}还没发货", "我的订单号是 {v}，能帮我查一下吗", "我那个单子{v}怎么还没到"),
        "address": ("请把地址改成{v}", "我住在{v}，能送货上门吗"),
    },
    "en": {
        "phone": ("My phone number is {v}, call me when it ships.", "You can reach me at {v}."),
        "email": ("Please send the invoice to {v}.", "My email is {v} if you need it."),
        "id_card": ("For customs my ID number is {v}.",),
        "card": ("Please refund to my card {v}.", "I was charged twice on card {v}."),
        "order_number": ("My order #{v} has not arrived.", "Order number {v} shows delivered but I have nothing.",
                         "Purchase {v} is still pending."),
        "address": ("Please ship to {v}.", "My new address is {v}, can you update it?"),
    },
}
_CLEAN = {
    "zh": ("这款电水壶容量1.7L，功率1800W，现价199元。", "7天无理由退货，3-5天送达，满99元包邮。",
           "11月30日之前下单享8.5折，优惠码SAVE20。", "我买的是42码，想换成43码，可以吗？", "28cm的炒锅还有货吗？库存还有12件吗？",
           "客服工作时间是9:00-18:00，周末也在线。", "双十一那天买的，2026-11-11付的款，到现在3天了。",
           "参考编号1234567812345678是什么意思？", "包装上的条形码是6901234567892。", "这本书的ISBN是9787115428028吗？",
           "满199减20，活动到12月12日。"),
    "en": ("The kettle holds 1.7 L and costs $39.99.", "Returns are free within 30 days; delivery takes 3-5 days.",
           "Is the 28 cm pan back in stock? I need 2 pieces.", "I ordered on Nov 11 and paid 2026-11-11.",
           "Does the 500ml bottle fit a 7 cm cup holder?", "Reference 1234567812345678 appears on my receipt.",
           "The barcode on the box reads 6901234567892.", "Is ISBN 9780306406157 the hardcover edition?"),
}


class Planted(str):
    """A planted item: the string is its kind ("phone", ...), `.value` the exact text planted."""

    value: str

    def __new__(cls, kind: str, value: str) -> "Planted":
        item = super().__new__(cls, kind)
        item.value = value
        return item


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice((("62", 16), ("62", 19), ("4", 16), ("51", 16), ("55", 16)))
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    number = body + _luhn_digit(body)
    if rng.random() < 0.5:
        return number
    sep = rng.choice((" ", "-"))
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def _id_card(rng: random.Random) -> str:
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = rng.choice(_REGIONS) + birth + f"{rng.randint(0, 999):03d}"
    return body + id_check_char(body)


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(_INTL).format(a=rng.randint(0, 9999), b=rng.randint(0, 999))
    number = rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 99999999):08d}"
    style = rng.randrange(5)
    if style == 4:
        return f"{number[:3]}.{number[3:7]}.{number[7:]}"
    if style == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == 2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    return ("+86 " if style == 3 else "") + number


def _address(rng: random.Random, lang: str) -> str:
    if lang == "en":
        apt = f", Apt {rng.randint(1, 40)}" if rng.random() < 0.5 else ""
        street = rng.choice(_EN_STREETS)
        return f"{rng.randint(1, 9999)} {street.lower() if rng.random() < 0.2 else street}{apt}"
    province, city, district = rng.choice(_ZH_CITIES)
    unit = f"{rng.randint(1, 20)}栋{rng.randint(1, 30)}0{rng.randint(1, 4)}室" if rng.random() < 0.6 else ""
    return f"{province}{city}{district}{rng.choice(_ZH_ROADS)}{rng.randint(1, 999)}号{unit}"


def _value(kind: str, rng: random.Random, lang: str) -> str:
    if kind == "phone":
        return _phone(rng)
    if kind == "email":
        return f"{rng.choice(_NAMES)}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}"
    if kind == "id_card":
        return _id_card(rng)
    if kind == "card":
        return _card(rng)
    if kind == "order_number":
        return f"{rng.choice(('2026', '2025'))}{rng.randint(10 ** 11, 10 ** 12 - 1)}"
    return _address(rng, lang)


def generate(n: int, seed: int) -> list[tuple[str, list[str]]]:
    """`n` messages (zh and en): text and its planted items (kinds, each carrying `.value`); seeded."""
    rng = random.Random(seed)
    samples: list[tuple[str, list[str]]] = []
    for _ in range(n):
        lang = rng.choice(("zh", "en"))
        if rng.random() < CLEAN_SHARE:
            samples.append((rng.choice(_CLEAN[lang]), []))
            continue
        parts, planted = [], []
        for kind in rng.sample(KINDS, rng.randint(1, MAX_ITEMS)):
            value = _value(kind, rng, lang)
            parts.append(rng.choice(_TEMPLATES[lang][kind]).format(v=value))
            planted.append(Planted(kind, value))
        samples.append((("" if lang == "zh" else " ").join(parts), planted))
    return samples


def _removed(item: str, masked: str) -> bool:
    value = getattr(item, "value", None)
    if value is None:  # a plain kind string: count it removed when no item of that kind is left
        return all(kind != item for kind, _ in find_pii(masked))
    return value not in masked


def masking_rate(samples: Sequence[tuple[str, Sequence[str]]]) -> dict:
    """Share of planted items that `mask_pii` removed (overall and per kind), and false positives: items
    `find_pii` reports in the PII-free samples."""
    planted = {k: 0 for k in KINDS}
    removed = {k: 0 for k in KINDS}
    clean, false_positives = 0, 0
    for text, items in samples:
        if not items:
            clean += 1
            false_positives += len(find_pii(text))
            continue
        masked = mask_pii(text)
        for item in items:
            planted[str(item)] = planted.get(str(item), 0) + 1
            removed[str(item)] = removed.get(str(item), 0) + _removed(item, masked)
    total, total_removed = sum(planted.values()), sum(removed.values())
    return {
        "samples": len(samples),
        "planted": total,
        "removed": total_removed,
        "rate": round(total_removed / total, 4) if total else 1.0,
        "by_kind": {k: {"planted": planted[k], "removed": removed[k],
                        "rate": round(removed[k] / planted[k], 4) if planted[k] else 1.0} for k in planted},
        "clean_samples": clean,
        "false_positives": false_positives,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.pii_synth",
                                     description="Masking rate of mask_pii on synthetic messages with planted PII.")
    parser.add_argument("--n", type=int, default=500, help="number of messages (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    result = masking_rate(generate(args.n, args.seed))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"masked {result['removed']}/{result['planted']} planted items ({result['rate']:.1%}); "
          f"{result['false_positives']} false positives on {result['clean_samples']} PII-free messages")
    for kind, row in result["by_kind"].items():
        print(f"  {kind:<13} {row['removed']:>4}/{row['planted']:<4} {row['rate']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
