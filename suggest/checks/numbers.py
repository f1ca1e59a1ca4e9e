"""Numbers and units as customers and drafts write them (Arabic, Chinese, English), with the values they stand
for, so that "七天" and "7 days" or "¥12" and "12元" compare equal.

>>> parse_number("二十四"), UNITS["个工作日"]
(24.0, ('day', 1))
"""
from __future__ import annotations

import re

_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}
_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen").split()
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_VALUE = {w: i for i, w in enumerate(_EN_ONES)} | {w: 20 + 10 * i for i, w in enumerate(_EN_TENS)}

_NUM_AR = r"(?<![A-Za-z0-9_.第])\d+(?:,\d{3})*(?:\.\d+)?(?:\s*[万千](?![米克瓦]))?"
NUM_ZH = r"(?<!第)[零〇一二两三四五六七八九十百千万]+"
_NUM_EN = (r"(?<![A-Za-z])(?:(?:" + "|".join(_EN_TENS) + r")(?:[-\s](?:" + "|".join(_EN_ONES[1:10]) + r"))?|"
           + "|".join(sorted(_EN_ONES, key=len, reverse=True)) + r")(?![A-Za-z])")
NUM = rf"(?:{_NUM_AR}|{NUM_ZH}|(?i:{_NUM_EN}))"


def parse_number(token: str) -> float | None:
    """The value of an Arabic, Chinese or English number.

    >>> parse_number("七"), parse_number("二十四"), parse_number("1,299"), parse_number("seven"), parse_number("3万")
    (7.0, 24.0, 1299.0, 7.0, 30000.0)
    """
    token = token.strip().lower().replace(",", "")
    scale = 1
    if token[-1:] in ("万", "千") and token[:-1].strip().replace(".", "", 1).isdigit():
        scale = 10000 if token[-1] == "万" else 1000
        token = token[:-1].strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token) * scale
    if token in _EN_VALUE:
        return float(_EN_VALUE[token])
    parts = re.split(r"[-\s]", token)
    if len(parts) == 2 and parts[0] in _EN_VALUE and parts[1] in _EN_VALUE:
        return float(_EN_VALUE[parts[0]] + _EN_VALUE[parts[1]])
    return _parse_zh_number(token)


def _parse_zh_number(token: str) -> float | None:
    if not token or any(c not in _ZH_DIGIT and c not in _ZH_UNIT and c != "万" for c in token):
        return None
    if len(token) > 1 and all(c in _ZH_DIGIT for c in token):  # read digit by digit: 二〇二六, 八五(折)
        return float("".join(str(_ZH_DIGIT[c]) for c in token))
    total, section, digit = 0, 0, 0
    for c in token:
        if c in _ZH_DIGIT:
            digit = _ZH_DIGIT[c]
        elif c == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _ZH_UNIT[c]
            digit = 0
    return float(total + section + digit)


# unit as written (lower case, single spaces) → (class, factor to the class's base unit)
UNITS: dict[str, tuple[str, float]] = {}


def _units(cls: str, factor: float, *names: str) -> None:
    for name in names:
        UNITS[name] = (cls, factor)


_units("day", 1, "天", "日", "个工作日", "工作日", "个自然日", "自然日", "day", "days", "working day", "working days",
       "business day", "business days", "work day", "work days", "workday", "workdays", "calendar days")
_units("hour", 1, "小时", "个小时", "钟头", "个钟头", "hour", "hours", "hr", "hrs", "h")
_units("minute", 1, "分钟", "minute", "minutes", "min", "mins")
_units("week", 1, "周", "个周", "星期", "个星期", "礼拜", "个礼拜", "week", "weeks")
_units("month", 1, "个月", "month", "months")
_units("year", 1, "年", "year", "years", "yr", "yrs")
_units("cny", 1, "元", "块", "块钱", "元钱", "人民币", "yuan", "rmb", "cny")
_units("usd", 1, "美元", "dollar", "dollars", "usd")
_units("eur", 1, "欧元", "euro", "euros", "eur")
_units("percent", 1, "%", "％", "percent", "per cent")
_units("fold", 1, "折")
_units("count", 1, "个", "件", "台", "瓶", "包", "盒", "套", "双", "只", "张", "份", "袋", "支", "条", "箱", "罐", "单",
       "piece", "pieces", "pcs", "item", "items", "unit", "units", "pair", "pairs", "pack", "packs", "box",
       "boxes", "bottle", "bottles", "set", "sets")
_units("times", 1, "次", "times")
_units("volume", 1, "ml", "毫升", "milliliters", "millilitres")
_units("volume", 1000, "l", "升", "liter", "liters", "litre", "litres")
_units("power", 1, "w", "瓦", "watt", "watts")
_units("power", 1000, "kw", "千瓦")
_units("length", 1, "mm", "毫米")
_units("length", 10, "cm", "厘米", "公分")
_units("length", 1000, "m", "米", "meter", "meters", "metre", "metres")
_units("length", 1_000_000, "km", "公里", "千米", "kilometer", "kilometers", "kilometre", "kilometres")
_units("weight", 1, "g", "克", "gram", "grams")
_units("weight", 500, "斤")
_units("weight", 1000, "kg", "公斤", "千克", "kilogram", "kilograms")
_units("voltage", 1, "v", "伏", "volt", "volts")
_units("battery", 1, "mah", "毫安")
_units("storage", 1, "gb")
_units("storage", 1024, "tb")
_units("temperature", 1, "°c", "℃", "度", "degrees")
_units("inch", 1, "寸", "英寸", "inch", "inches")
_units("size", 1, "码")
_units("dom", 1, "号")  # day of the month: "30号发货"
# a unit that is the start of a common word is not a unit there: 包邮 (free shipping), 三包 policy, 单号
_UNIT_GUARD = {"包": "(?![邮退换装括含政服])", "单": "(?![号价])", "只": "(?![需要能是有])", "台": "(?![湾])"}

CURRENCY_PREFIX = {"¥": "cny", "￥": "cny", "rmb": "cny", "cny": "cny", "$": "usd", "us$": "usd", "usd": "usd",
                   "€": "eur", "eur": "eur", "£": "gbp"}
UNIT_ALT = "|".join(
    (re.escape(u).replace(r"\ ", r"\s+") + (r"(?![A-Za-z])" if u[-1].isascii() and u[-1].isalpha() else "")
     + _UNIT_GUARD.get(u, ""))
    for u in sorted(UNITS, key=len, reverse=True))
PREFIX_ALT = "|".join(re.escape(p) for p in sorted(CURRENCY_PREFIX, key=len, reverse=True))
