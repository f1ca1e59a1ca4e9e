"""Facts: the checkable figures of a text (amounts, percentages, durations, dates, times, counts, phone numbers,
URLs, e-mail addresses, codes, specs), normalised, and `Support`: what a set of passages backs.

>>> [(f.cls, f.values, f.span) for f in extract_facts("七天内发货，运费¥12，3到5个工作日送达[1]")]
[('day', (7.0,), '七天'), ('cny', (12.0,), '¥12'), ('day', (3.0, 5.0), '3到5个工作日')]
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from suggest.checks.numbers import CURRENCY_PREFIX, NUM, NUM_ZH, PREFIX_ALT, UNIT_ALT, UNITS, parse_number
from suggest.checks.pii import EMAIL, MASK_KEEP, digits_of

_RANGE_SEP = r"\s*(?:-|–|—|~|～|〜|到|至|(?<![A-Za-z])to(?![A-Za-z]))\s*"
_QUANTITY = re.compile(
    rf"(?:(?P<pre>{PREFIX_ALT})\s*)?(?P<a>{NUM})(?:\s*(?P<ua>{UNIT_ALT}))?"
    rf"(?:{_RANGE_SEP}(?:(?:{PREFIX_ALT})\s*)?(?P<b>{NUM}))?(?:\s*-?\s*(?P<u>{UNIT_ALT}))?", re.IGNORECASE)
_PERCENT_ZH = re.compile(rf"百分之(?P<a>{NUM_ZH}|\d+(?:\.\d+)?)")

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
           "nov": 11, "dec": 12}
_MONTH_NAME = (r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
               r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?(?!\d)"),
    re.compile(rf"(?:(?P<y>\d{{4}})\s*年\s*)?(?P<m>\d{{1,2}}|{NUM_ZH})\s*月\s*(?P<d>\d{{1,2}}|{NUM_ZH})\s*[日号]"),
    re.compile(rf"(?<![A-Za-z]){_MONTH_NAME}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+(?P<y>\d{{4}}))?"),
    re.compile(rf"(?<![\d.])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}(?![A-Za-z])"
               rf"(?:,?\s+(?P<y>\d{{4}}))?"),
)
_MONTH_ONLY = re.compile(rf"(?<![个\d])(?P<m>\d{{1,2}}|十一|十二|[一二三四五六七八九十])\s*月(?!份?\s*\d)")
_YEAR = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年")
_CLOCK = re.compile(
    rf"(?:(?P<pre>上午|早上|早|中午|下午|晚上|晚)\s*)?(?P<h>\d{{1,2}})\s*[:：]\s*(?P<min>\d{{2}})(?!\d)"
    rf"(?:\s*(?P<ap>[ap]\.?m\.?)(?![A-Za-z]))?"
    rf"|(?<![\d.])(?P<h2>\d{{1,2}})\s*(?P<ap2>[ap]\.?m\.?)(?![A-Za-z])"
    rf"|(?:(?P<pre3>上午|早上|早|中午|下午|晚上|晚)\s*)?(?P<h3>\d{{1,2}}|(?<=[上午早中下晚])(?:{NUM_ZH}))\s*点"
    rf"(?:\s*(?P<min3>\d{{1,2}})\s*分|(?P<half>半))?", re.IGNORECASE)
_PHONE_FACT = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|(?<![A-Za-z0-9_+])\+\d{1,3}(?:[\s-]?\(?\d{2,5}\)?){1,5}(?!\d)"
    r"|(?<!\d)[48]00[\s-]?\d{3}[\s-]?\d{4}(?!\d)"
    r"|(?<!\d)(?:0\d{2,3}-\d{7,8}|\(0\d{2,3}\)\s*\d{7,8})(?!\d)")
_LONG_DIGITS = re.compile(  # card, ID and order numbers, grouped or not: one fact, not four bare numbers
    r"(?<!\d)\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?(?!\d)|(?<![\dA-Za-z])\d{%d,}[Xx]?(?![\dA-Za-z])" % 7)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。、）)】\]]+"
                  r"|(?<![A-Za-z0-9_.@-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com\.cn|com|cn|net|org|shop|io)"
                  r"(?![A-Za-z0-9])(?:/[^\s<>\"'，。、）)】\]]*)?")
_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Z0-9]*\d)(?=(?:[0-9]*[A-Z]){2})[A-Z][A-Z0-9]{3,19}(?![A-Za-z0-9])"
                   r"|(?:优惠码|折扣码|券码|兑换码|口令|(?i:promo code|discount code|coupon code|coupon|voucher|code))"
                   r"\s*[:：是为]?\s*(?P<c>[A-Z][A-Z0-9]{3,19})(?![A-Za-z0-9])")
_BARE_NUMBER = re.compile(r"(?<![A-Za-z0-9_.第#])\d+(?:,\d{3})*(?:\.\d+)?(?!\d|st|nd|rd|th)")
_NOT_FACTS = re.compile(  # citation markers [1] 【2】 and list numbers "1." "2、" "(3)"
    r"\[\^?\d+(?:\s*[,，]\s*\d+)*\]|【\d+】|(?m:^\s*[(（]?\d{1,2}[.、)）](?!\d))"
    r"|(?<!\S)[(（]?\d{1,2}[.、)）](?=\s|[\u4e00-\u9fff])")

_CLASS_KIND = {"cny": "amount", "usd": "amount", "eur": "amount", "gbp": "amount", "percent": "percent",
               "fold": "discount", "day": "duration", "hour": "duration", "minute": "duration",
               "week": "duration", "month": "duration", "year": "duration", "date": "date", "month_of_year": "date",
               "dom": "date", "calendar_year": "date", "clock": "time", "count": "count", "times": "count",
               "phone": "phone", "digits": "number", "url": "url", "email": "email", "code": "code", "num": "number"}
_WORD_ONE = re.compile(r"^(?:一|one|a|an)$", re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    """One checkable figure: `cls` its unit class, `values` its normalised numbers (two for a range) or text."""

    cls: str
    values: tuple
    span: str
    start: int
    end: int

    @property
    def kind(self) -> str:
        """amount, percent, discount, duration, date, time, count, phone, url, email, code, spec or number."""
        return _CLASS_KIND.get(self.cls, "spec")

    @property
    def key(self) -> tuple:
        return (self.cls,) + self.values


_WRITTEN_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def _round(value: float) -> float:
    return round(value, 6)


class _Scanner:
    """Finds facts pass by pass, blanking what each pass took so later passes do not see it again."""

    def __init__(self, text: str):
        self.text = text
        self.work = _NOT_FACTS.sub(lambda m: "\0" * len(m.group()), text)
        self.facts: list[Fact] = []

    def take(self, pattern: re.Pattern[str], build) -> None:
        for m in list(pattern.finditer(self.work)):
            built = build(m)
            if built is None:
                continue
            cls, values, start, end = built
            self.facts.append(Fact(cls, tuple(values), self.text[start:end], start, end))
            self.work = self.work[:start] + "\0" * (end - start) + self.work[end:]


def _url_key(url: str) -> str:
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower())
    return url.rstrip("/.,;:!?")


def _url_fact(m: re.Match[str]):
    url = m.group().rstrip(".,;:!?")  # sentence punctuation after a URL is not part of it
    return "url", (_url_key(url),), m.start(), m.start() + len(url)


def _code_group(m: re.Match[str]) -> str | int:
    return "c" if m.group("c") else 0


def _date_fact(m: re.Match[str]):
    month = _month_value(m.group("mon")) if "mon" in m.groupdict() and m.group("mon") else parse_number(m.group("m"))
    day = parse_number(m.group("d"))
    if not month or not day or not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return "date", (month, day), m.start(), m.end()


def _month_value(name: str) -> float:
    return float(_MONTHS[name[:3].lower()])


def _clock_fact(m: re.Match[str]):
    hour_text = m.group("h") or m.group("h2") or m.group("h3")
    hour = parse_number(hour_text)
    minute = float(m.group("min") or m.group("min3") or (30 if m.group("half") else 0))
    marker = (m.group("pre") or m.group("pre3") or m.group("ap") or m.group("ap2") or "").lower().replace(".", "")
    if hour is None or hour > 24 or minute > 59:
        return None
    if marker in ("pm", "下午", "晚上", "晚") and hour < 12:
        hour += 12
    elif marker == "am" and hour == 12:
        hour = 0
    return "clock", (hour, minute), m.start(), m.end()


def _quantity_fact(m: re.Match[str]):
    single_unit = m.group("ua") and not m.group("b")  # "20%折扣": the unit is %, 折 starts the next word
    unit_text = m.group("ua") if single_unit else (m.group("u") or m.group("ua"))
    prefix = m.group("pre")
    a = parse_number(m.group("a"))
    b = parse_number(m.group("b")) if m.group("b") else None
    if a is None or (m.group("b") and b is None):
        return None
    if unit_text:
        cls, factor = UNITS[re.sub(r"\s+", " ", unit_text.lower())]
    elif prefix:
        cls, factor = CURRENCY_PREFIX[prefix.lower()], 1.0
    else:
        return _bare_range(m, a, b)
    if _skip_quantity(m, cls, a, b):
        return None
    cls, values, start, end = _finish_quantity(m, cls, factor, a, b)
    return cls, values, start, (m.end("ua") if single_unit else end)


def _bare_range(m: re.Match[str], a: float, b: float | None):
    """Numbers with no unit: only Arabic numerals count (Chinese ones without a unit are words: 一定, 一起)."""
    if not re.search(r"\d", m.group("a")):
        return None
    return "num", ((a, b) if b is not None else (a,)), m.start(), m.end()


def _skip_quantity(m: re.Match[str], cls: str, a: float, b: float | None) -> bool:
    """Phrases that look like quantities but state no fact: 一个问题 / one item, 美好的一天, 十分感谢."""
    word_one = b is None and _WORD_ONE.match(m.group("a").strip()) is not None
    if word_one and cls in ("count", "times"):
        return True
    if word_one and m.start() > 0 and m.string[m.start() - 1] in "的每":
        return True
    return False


def _finish_quantity(m: re.Match[str], cls: str, factor: float, a: float, b: float | None):
    if cls == "year" and a >= 1900 and b is None:
        return "calendar_year", (a,), m.start(), m.end()
    if cls == "fold":  # 85折 == 8.5折 == 八五折
        a, b = (a / 10 if a >= 10 else a), (None if b is None else (b / 10 if b >= 10 else b))
    values = (_round(a * factor),) if b is None else (_round(a * factor), _round(b * factor))
    return cls, values, m.start(), m.end()


def extract_facts(text: str) -> list[Fact]:
    """Every checkable figure in `text`, normalised; citation markers ([1], 【2】) and list numbers are skipped.

    >>> [(f.cls, f.values, f.span) for f in extract_facts("七天内发货，运费¥12，3到5个工作日送达[1]")]
    [('day', (7.0,), '七天'), ('cny', (12.0,), '¥12'), ('day', (3.0, 5.0), '3到5个工作日')]
    """
    s = _Scanner(text)
    s.take(_URL, _url_fact)
    s.take(EMAIL, lambda m: ("email", (m.group().lower(),), m.start(), m.end()))
    s.take(_PHONE_FACT, lambda m: ("phone", (phone_key(m.group()),), m.start(), m.end()))
    s.take(_LONG_DIGITS, lambda m: ("digits", (digits_of(m.group()) + m.group()[-1:].upper().strip("0123456789"),),
                                    m.start(), m.end()))
    s.take(_CODE, lambda m: ("code", (m.group(_code_group(m)).upper(),), m.start(_code_group(m)), m.end()))
    for pattern in _DATE_PATTERNS:
        s.take(pattern, _date_fact)
    s.take(_MONTH_ONLY, lambda m: ("month_of_year", (parse_number(m.group("m")),), m.start(), m.end()))
    s.take(_YEAR, lambda m: ("calendar_year", (float(m.group("y")),), m.start(), m.end()))
    s.take(_CLOCK, _clock_fact)
    s.take(_PERCENT_ZH, lambda m: ("percent", (parse_number(m.group("a")),), m.start(), m.end()))
    s.take(_QUANTITY, _quantity_fact)
    s.take(_BARE_NUMBER, lambda m: ("num", (parse_number(m.group()),), m.start(), m.end()))
    return sorted(s.facts, key=lambda f: f.start)


def phone_key(text: str) -> str:
    digits = digits_of(text)
    if re.fullmatch(r"(?:0086|86)1[3-9]\d{9}", digits):
        return digits[-11:]
    return digits


@dataclass
class Support:
    """What the support texts back: fact keys (range ends count as single values) and every number seen."""

    keys: set[tuple] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    bare_numbers: set[float] = field(default_factory=set)
    lowered: str = ""

    @classmethod
    def of(cls, texts: Iterable[str]) -> "Support":
        support = cls()
        texts = [t for t in texts if t]
        support.lowered = "\n".join(texts).lower()
        for fact in (f for t in texts for f in extract_facts(t)):
            support.add(fact)
        return support

    def _add_tail(self, fact: Fact) -> None:
        """A long number (card, order, phone) also backs its last digits: "尾号5678"."""
        digits = digits_of(str(fact.values[0]))
        if len(digits) > MASK_KEEP:
            self.numbers.add(float(digits[-MASK_KEEP:]))

    def add(self, fact: Fact) -> None:
        self.keys.add(fact.key)
        if fact.cls in ("digits", "phone"):
            self._add_tail(fact)
        numbers = [v for v in fact.values if isinstance(v, float)]
        if len(fact.values) == 2 and len(numbers) == 2 and fact.cls != "date" and fact.cls != "clock":
            self.keys.update({(fact.cls, numbers[0]), (fact.cls, numbers[1])})
        self.numbers.update(numbers)
        if fact.cls == "num":
            self.bare_numbers.update(numbers)

    def backs(self, fact: Fact) -> bool:
        if fact.key in self.keys:
            return True
        if fact.cls == "num":
            return all(v in self.numbers for v in fact.values)
        if fact.cls in ("url", "email", "code"):
            return str(fact.values[0]).lower() in self.lowered
        if fact.cls in ("phone", "date", "clock"):
            return False
        # a bare number backs the same figure with a unit: "满99包邮" backs "99元", "身高168" backs "168cm"
        # (the unit's normalised value, 1680 mm, is not what the passage wrote)
        normalised = [v for v in fact.values if isinstance(v, float)]
        written = [float(x.replace(",", "")) for x in _WRITTEN_NUMBER.findall(fact.span)]
        return any(numbers and all(v in self.bare_numbers for v in numbers) for numbers in (normalised, written))
