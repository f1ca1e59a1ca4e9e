"""Personal data in a text: phone numbers, e-mail addresses, PRC ID cards (with checksum), Luhn-valid payment
cards, order numbers and postal addresses (zh/en). `find_pii` lists them, `mask_pii` masks them.

>>> find_pii("手机13812345678，邮箱 amy@example.com")
[('phone', '13812345678'), ('email', 'amy@example.com')]
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

CARD_DIGITS = (13, 19)  # payment card numbers have 13..19 digits (ISO/IEC 7812)
INTL_PHONE_DIGITS = (8, 15)  # E.164 numbers have at most 15 digits; shorter than 8 is not a phone
MASK_KEEP = 4  # masked numbers keep their last 4 digits so the agent can still recognise them

EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ORDER = re.compile(
    r"(?:订单编号|订单号|快递单号|物流单号|运单号|订单|单号|单子|"
    r"(?:order|purchase)\s*(?:number|no\.?|id|#)?|tracking\s*(?:number|no\.?|id|#)?)"
    r"\s*(?:是|为|:|：|is)?\s*[#＃]?\s*(?P<v>[A-Za-z]{0,4}\d[\d-]{5,30}\d)(?![\dA-Za-z])", re.IGNORECASE)
_ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_CARD = re.compile(
    r"(?<!\d)\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?(?!\d)"
    r"|(?<!\d)\d{4}[ -]\d{6}[ -]\d{5}(?!\d)"
    r"|(?<!\d)\d{13,19}(?!\d)")
_MOBILE = re.compile(r"(?<![\d+.])(?P<cc>(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s.-]?\d{4}){2}(?![\d.]\d)")
_INTL_PHONE = re.compile(r"(?<![A-Za-z0-9_+])\+(?!86[\s-]?1[3-9])(?P<cc>\d{1,3})(?:[\s-]?\(?\d{2,5}\)?){1,5}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:0\d{2,3}-\d{7,8}|\(0\d{2,3}\)\s*\d{7,8})(?!\d)")
_ZH_ADMIN = r"[\u4e00-\u9fff]{2,8}?(?:省|自治区|市|区|县|旗|镇|乡|街道)"
_ZH_NUM_CHARS = "一二三四五六七八九十百零"
_ZH_TAIL = rf"(?:\s*[\dA-Za-z{_ZH_NUM_CHARS}\-]+\s*(?:号楼|栋|幢|座|单元|层|楼|室|号|户))*"
_ZH_ADDRESS = re.compile(
    rf"(?:{_ZH_ADMIN}){{0,4}}[\u4e00-\u9fff\dA-Za-z]{{1,12}}?(?:路|街|大道|道|巷|弄|胡同)"
    rf"(?:[\d{_ZH_NUM_CHARS}]+段)?\s*[\d{_ZH_NUM_CHARS}]+\s*(?:号|弄){_ZH_TAIL}"
    rf"|(?:{_ZH_ADMIN}){{0,4}}[\u4e00-\u9fff]{{2,10}}?(?:小区|花园|公寓|大厦|家园|苑|新村)\s*\d+\s*(?:号楼|栋|幢|座){_ZH_TAIL}")
_ADDRESS_FILLER = re.compile(r"^.*(?:地址是|地址为|地址：|地址:|住址是|住址|地址|住在|寄到|送到|发到|改成|改到|改为|位于|在)")
_EN_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9_])\d{1,6}[A-Za-z]?\s+(?:[A-Z][A-Za-z'.-]*\s+){1,4}"
    r"(?:(?i:street|road|avenue|boulevard|lane|drive|court|way|place|terrace|close|crescent|highway|parkway|"
    r"square)(?![A-Za-z])|(?i:st|rd|ave|blvd|ln|dr|ct|pl|hwy|pkwy|sq)(?![A-Za-z])\.?)"
    r"(?:,?\s*(?i:apt|apartment|suite|unit|flat|room|#)\.?\s*#?\w+)?")

# a long number shortly after one of these (same clause) is a product code, not a card (EAN-13 can pass Luhn)
_PRODUCT_CODE_CONTEXT = re.compile(r"(?:条形码|条码|商品码|序列号|(?<![A-Za-z])(?:barcode|bar code|EAN|UPC|ISBN|serial|SN)"
                                   r"(?![A-Za-z]))[^，,。；;!?！？]*$", re.IGNORECASE)
_CONTEXT_CHARS = 30  # how far back to look for such a word
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643: weight of each of the 17 digits
_ID_CHECK = "10X98765432"  # check character by weighted sum mod 11


@dataclass(frozen=True)
class PiiSpan:
    """One personal-data item: text[start:end] is of `kind` (phone, email, id_card, card, order_number, address)."""

    start: int
    end: int
    kind: str


def id_check_char(body: str) -> str:
    """The check character of the 17 leading digits of a PRC resident ID.

    >>> id_check_char("11010519491231002")
    'X'
    """
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def id_card_valid(number: str) -> bool:
    """True for an 18-character PRC resident ID with a plausible birth date and a correct check character.

    >>> id_card_valid("11010519491231002X"), id_card_valid("110105194912310021")
    (True, False)
    """
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment cards.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def digits_of(text: str) -> str:
    """The digits of `text`, nothing else."""
    return re.sub(r"\D", "", text)


def pii_spans(text: str) -> list[PiiSpan]:
    """Every personal-data item, left to right, overlaps resolved by priority (e-mail, order, ID, card, phone,
    address)."""
    candidates: list[tuple[int, int, str]] = []
    candidates += [(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
    candidates += [(m.start("v"), m.end("v"), "order_number") for m in _ORDER.finditer(text)]
    candidates += [(m.start(), m.end(), "id_card") for m in _ID_CARD.finditer(text) if id_card_valid(m.group())]
    candidates += [(m.start(), m.end(), "card") for m in _CARD.finditer(text)
                   if _is_card(m.group()) and not _product_code(text, m.start())]
    candidates += [(m.start(), m.end(), "phone") for m in _MOBILE.finditer(text)]
    candidates += [(m.start(), m.end(), "phone") for m in _INTL_PHONE.finditer(text) if _is_intl_phone(m.group())]
    candidates += [(m.start(), m.end(), "phone") for m in _LANDLINE.finditer(text)]
    candidates += list(_address_spans(text))
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in candidates:  # already in priority order
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    return [PiiSpan(start, end, kind) for start, end, kind in sorted(kept)]


def _is_card(text: str) -> bool:
    digits = digits_of(text)
    return CARD_DIGITS[0] <= len(digits) <= CARD_DIGITS[1] and luhn_valid(digits)


def _product_code(text: str, start: int) -> bool:
    return bool(_PRODUCT_CODE_CONTEXT.search(text[max(0, start - _CONTEXT_CHARS):start]))


def _is_intl_phone(text: str) -> bool:
    return INTL_PHONE_DIGITS[0] <= len(digits_of(text)) <= INTL_PHONE_DIGITS[1]


def _address_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for m in _ZH_ADDRESS.finditer(text):
        filler = _ADDRESS_FILLER.match(m.group())
        start = m.start() + (filler.end() if filler else 0)
        if start < m.end():
            yield start, m.end(), "address"
    for m in _EN_ADDRESS.finditer(text):
        yield m.start(), m.end(), "address"


def find_pii(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) for each personal-data item, left to right.

    Kinds: phone, email, id_card, card (Luhn-valid, 13-19 digits), order_number (after 订单号 / order #),
    address.
    """
    return [(s.kind, text[s.start:s.end]) for s in pii_spans(text)]


def _mask_item(kind: str, value: str) -> str:
    """The masked form of one item: enough left to recognise it, not enough to use it."""
    digits = digits_of(value)
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[0]}***@{domain}"
    if kind == "id_card":
        return "[ID card]"
    if kind == "card":
        return "**** **** **** " + digits[-MASK_KEEP:]
    if kind == "order_number":
        return f"[order ****{value[-MASK_KEEP:]}]"
    if kind == "address":
        return "[address]"
    return _mask_phone(value, digits)


def _mask_phone(value: str, digits: str) -> str:
    mobile = _MOBILE.fullmatch(value)
    if mobile:
        prefix = "+86 " if mobile.group("cc") else ""
        local = digits[-11:]
        return f"{prefix}{local[:3]}****{local[-MASK_KEEP:]}"
    intl = _INTL_PHONE.fullmatch(value)
    if intl:
        return f"+{intl.group('cc')} ****{digits[-MASK_KEEP:]}"
    area = re.match(r"\(?(0\d{2,3})", value)
    return f"{area.group(1) if area else ''}-****{digits[-MASK_KEEP:]}"


def mask_pii(text: str) -> str:
    """`text` with every personal-data item masked; masking twice changes nothing.

    >>> mask_pii("电话 138-1234-5678，卡号 4111 1111 1111 1111")
    '电话 138****5678，卡号 **** **** **** 1111'
    """
    out = []
    last = 0
    for s in pii_spans(text):
        out.append(text[last:s.start])
        out.append(_mask_item(s.kind, text[s.start:s.end]))
        last = s.end
    out.append(text[last:])
    return "".join(out)
