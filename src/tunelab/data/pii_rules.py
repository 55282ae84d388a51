"""Detectors for PII with a checkable shape: e-mail addresses, phone numbers, payment cards,
IBANs, IP addresses, US social security numbers and URLs with credentials (dates of birth are
in ``pii_dates``).

Each ``find_*`` function yields ``(type, start, end)`` spans. A regex finds candidates; a check
then keeps only values that validate (Luhn, mod-97, ``ipaddress``, ``phonenumbers``, the SSN
rules) and are not look-alikes: order and invoice ids, versions, prices, plain dates. Every
pattern is compiled once, and the costly ones run only where a cheap scan says they may match:
the number detectors inside the runs of digits that ``number_runs`` finds (one pass over the
text), the e-mail and date-of-birth detectors when an ``@`` or a birth word is present.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import phonenumbers

Span = tuple[str, int, int]

_L = "A-Za-z0-9À-ÖØ-öø-ɏ"  # letters of an address: ASCII and Latin (CJK text may touch it)
EMAIL = re.compile(
    rf"(?<![{_L}.%+_-])[{_L}%+_-](?:[{_L}.%+_-]{{0,62}}[{_L}%+_-])?@"
    rf"(?:[{_L}](?:[{_L}-]{{0,61}}[{_L}])?\.)+[A-Za-z]{{2,24}}(?![{_L}-]|\.[{_L}])"
)
# "anna.k [at] example [dot] com": a written-out address is an address too.
EMAIL_SPELLED = re.compile(
    r"(?i)(?<![\w.])[\w.+-]{1,64}\s*[\[({<]\s*at\s*[\])}>]\s*[\w-]{1,63}"
    r"(?:\s*(?:[\[({<]\s*dot\s*[\])}>]|\.)\s*[\w-]{2,63})+"
)
URL_CREDENTIALS = re.compile(
    r"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s:/?#@\"'<>]*:[^\s/?#@\"'<>]+@[^\s/?#\"'<>]+"
    r"(?:[/?#][^\s\"'<>]*)?"
)

# Runs of digits and the separators numbers are written with: the places to look for numbers.
NUMBER_RUN = re.compile(r"[+(\d][\d ().\-/–\u00a0]{5,}")
Run = tuple[int, int, int]  # start, end, number of digits

# A phone number inside a run; the check below decides.
PHONE = re.compile(
    r"(?<![0-9A-Za-z_+$€£¥₹.,/#-])(?:(?:\+|00)[ .\-\u00a0]?)?(?:\(\d{1,5}\)[ .\-\u00a0]?)?\d{1,14}"
    r"(?:(?:[ .\-/\u00a0]|[ ]?[-–][ ]?)\(?\d{1,12}\)?){0,7}"
    r"(?:[ ]?(?:x|ext\.?|extension|доб\.?)[ ]?\d{1,6})?(?![0-9A-Za-z_-]|[.,]\d)"
)
_PHONE_EXTENSION = re.compile(r"(?i)[ ]?(?:x|ext\.?|extension|доб\.?)[ ]?\d{1,6}$")
_DATE_SHAPE = re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2(?:\d{4}|\d{2})")
_DATE_INSIDE = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?!\d)|\d{1,2}/\d{1,2}/\d{2,4}(?!\d)|\d{1,2}[-.]\d{1,2}[-.]\d{4}(?!\d)"
)
_VERSION_START = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])")
_IBAN_BEFORE = re.compile(r"[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4})*[ ]?$")
_THOUSANDS = re.compile(r"\d{1,3}(?:([ .,\u00a0])\d{3})(?:\1\d{3})*")
PHONE_CUE = re.compile(
    r"(?:phone|tel|mobile|cell|call|text|sms|whatsapp|signal|fax|reach|ring|dial|hotline|"
    r"number|telefon|handy|mobil|rufnummer|t[ée]l[ée]phone|portable|appel|tel[ée]fono|m[óo]vil|"
    r"llam|cellulare|chiam|celular|telefoon|bel |numer|número|numero|numéro|rappel|joindre|"
    r"dzwo|kontakt|erreich|anruf|ruf|телефон|тел|моб|कॉल|संपर्क|"
    r"номер|звон|позвон|電話|电话|手机|手機|打|致电|번호|โทร|เบอร์|καλ|κλήσ|hubungi|telepon|gọi|"
    r"điện thoại|arayın|arayabilir|"
    r"携帯|전화|핸드폰|휴대폰|연락처|फ़ोन|फोन|मोबाइल|هاتف|جوال|موبايل|رقم|τηλ|κινητ|טלפון|נייד)"
)
ID_CUE = re.compile(
    r"(?:\b(?:order|invoice|inv|ref|reference|tracking|track|sku|isbn|issn|ean|upc|serial|"
    r"model|part|item|ticket|case|confirmation|booking|reservation|transaction|receipt|po|"
    r"policy|claim|member|account|acct|customer|batch|lot|version|build|id|no\.|nr\.?|#|"
    r"bestell|rechnung|kunden|commande|facture|pedido|factura|ordine|fattura|заказ|сч[её]т)"
    r"|订单|單號|单号|注文|주문|رقم الطلب|ऑर्डर|आदेश|הזמנה|คำสั่งซื้อ|พัสดุ|追跡番号|运单|快递)"
    r"\W{0,3}(?:number|num|no\.?|nr\.?|id|code|#)?\W{0,3}"
    r"(?:is\W{1,3}|was\W{1,3})?$"
)
_CURRENCY_AFTER = re.compile(r"(?i)^\s?(?:€|\$|£|¥|₹|eur|usd|gbp|chf|jpy|rub|руб|元|円|원|kr)")
_PHONE_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL", "AU", "JP", "BR", "IN")

CARD = re.compile(r"(?<![0-9A-Za-z_-])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z_-]|[.,]\d)")
_CARD_PREFIX = re.compile(r"(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2)|35|5[06-9]|6)")

IBAN = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z]{2}\d{2}(?:[ \u00a0]?[A-Za-z0-9]){11,34}")
IBAN_LENGTHS = dict(
    (entry[:2], int(entry[2:]))
    for entry in (
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 "
        "DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 "
        "HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 "
        "MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 "
        "RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 "
        "VG24 XK20 YE30"
    ).split()
)

IPV4 = re.compile(
    r"(?<![0-9A-Za-z_.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![0-9A-Za-z_]|\.\d)"
)
IPV6 = re.compile(
    r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[0-9A-Za-z_.]+)?(?![0-9A-Za-z_:])"
)
_VERSION_CUE = re.compile(
    r"(?:\bv|version|ver\.?|release|build|firmware|fw|rev|revision|patch|update|upgrade|"
    r"sdk|api|python|node|java|chrome|android|ios|oid|версия|版本|バージョン|버전)\s*[:=]?\s*$"
)

SSN = re.compile(
    r"(?<![0-9A-Za-z_-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![0-9A-Za-z_-])"
)
SSN_CUED = re.compile(
    r"(?i)\b(?:ssn|ss#|social security(?: number| no\.?| #)?|sozialversicherungsnummer)"
    r"[^\d\n]{0,32}?((?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})(?![0-9A-Za-z_-])"
)

_SSN_BARE = re.compile(
    r"(?<![0-9A-Za-z_-])(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?![0-9A-Za-z_-])"
)
_SSN_AFTER = re.compile(r"\bssn\b|social security")


def number_runs(text: str) -> list[Run]:
    """Every run of digits and separators with at least four digits."""
    runs = []
    for m in NUMBER_RUN.finditer(text):
        digits = sum(map(str.isdigit, m.group()))
        if digits >= 4:
            runs.append((m.start(), m.end(), digits))
    return runs


def _in_runs(pattern: re.Pattern, text: str, runs: list[Run], min_digits: int, margin=(0, 1)):
    """``pattern``'s matches around the runs with at least ``min_digits`` digits: the windows
    (each run widened by ``margin``) are merged first, so a match is never cut or repeated."""
    windows: list[list[int]] = []
    for start, end, digits in runs:
        if digits < min_digits:
            continue
        low, high = max(0, start - margin[0]), min(len(text), end + margin[1])
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    for low, high in windows:
        yield from pattern.finditer(text, low, high)


def find_emails(text: str, low: str) -> Iterator[Span]:
    if "@" in text:
        for m in EMAIL.finditer(text):
            yield "EMAIL", m.start(), m.end()
    if "at" in low and _SPELLED_AT.search(low):
        for m in EMAIL_SPELLED.finditer(text):
            yield "EMAIL", m.start(), m.end()


_SPELLED_AT = re.compile(r"[\[({<]\s*at\s*[\])}>]")


def find_url_credentials(text: str) -> Iterator[Span]:
    for m in URL_CREDENTIALS.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)]}'\"":
            end -= 1
        yield "URL_CREDENTIALS", m.start(), end


def find_phones(text: str, low: str, runs: list[Run]) -> Iterator[Span]:
    for m in _in_runs(PHONE, text, runs, 7, (0, 16)):
        raw, start, end = m.group(), m.start(), m.end()
        if raw.endswith(")") and raw.count(")") > raw.count("("):
            raw, end = raw[:-1], end - 1  # "(call 555-1234)": the bracket is the sentence's
        if sum(map(str.isdigit, raw)) < 7 or _IBAN_BEFORE.search(text, max(0, start - 20), start):
            continue  # an IBAN that failed its checksum is not a phone number either
        if _is_phone(text, low, start, end, raw):
            yield "PHONE", start, end


def _is_phone(text: str, low: str, start: int, end: int, raw: str) -> bool:
    number = _PHONE_EXTENSION.sub("", raw)
    digits = "".join(c for c in number if c.isdigit())
    if not 7 <= len(digits) <= 15 or _CURRENCY_AFTER.match(text, end):
        return False
    if number.startswith(("+", "00")):
        return _possible("+" + digits[2:] if number.startswith("00") else number, None)
    if ID_CUE.search(low, max(0, start - 32), start):
        return False
    date = _DATE_SHAPE.match(number)
    if date and (date.end() == len(number) or number[date.end()] == " "):
        return False  # a date, perhaps with the hour after it
    if _DATE_INSIDE.search(number) or _VERSION_START.match(number):
        return False  # "4.26.0 (24/12/2021)": a release and its date
    if re.match(r":\d", text[end : end + 2]):
        return False  # the hours of a time
    cued = PHONE_CUE.search(low, max(0, start - 40), start) is not None or (
        PHONE_CUE.search(low, end, min(len(low), end + 16)) is not None
    )
    if _THOUSANDS.fullmatch(number) and not cued:
        return False  # 12 500 000: an amount
    if _isbn(digits):
        return False
    groups = [g for g in re.split(r"[^\d]+", number) if g]
    if len(groups) == 1:  # a bare run of digits: a phone only when the text says so, or when
        # it has a trunk prefix (0...) or is a Chinese mobile number, and validates
        if cued:
            return True
        if digits.startswith("0") and len(digits) >= 10:
            return any(_valid(number, region) for region in _PHONE_REGIONS)
        if re.fullmatch(r"1[3-9]\d{9}", digits):
            return _valid(number, "CN")  # a Chinese mobile number
        return len(digits) == 10 and (_valid(number, "IN") or _valid(number, "GR"))
    if len(groups) == 2 and number.count(".") + number.count(",") == 1 and not cued:
        return False  # 3.14159265: a decimal number
    if "." in number and not cued and len(groups) >= 4 and all(len(g) <= 3 for g in groups):
        return False  # 12.34.56.78: too close to a dotted version or address
    if len(digits) == 7:
        return cued or bool(re.fullmatch(r"\d{3}[-.]\d{4}", number))
    return cued or "(" in number or len(groups) >= 3 or len(digits) >= 9


def _isbn(digits: str) -> bool:
    """An ISBN-13 (978/979 and its check digit) is a book, not a phone."""
    if len(digits) != 13 or not digits.startswith(("978", "979")):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return total % 10 == 0


def _possible(number: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def _valid(number: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def find_cards(text: str, runs: list[Run]) -> Iterator[Span]:
    for m in _in_runs(CARD, text, runs, 13):
        raw, start, end = m.group(), m.start(), m.end()
        if re.match(r"[ -]\d", text[end : end + 2]) or re.search(r"\d[ -]$", text[:start][-2:]):
            continue  # part of a longer grouped number (a tracking number)
        if _IBAN_BEFORE.search(text, max(0, start - 20), start):
            continue  # the digits of an IBAN that failed its checksum
        digits = "".join(c for c in raw if c.isdigit())
        if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits) or not luhn_ok(digits):
            continue
        groups = re.split(r"[ -]", raw)
        if len(groups) > 1 and (len(set(raw) & {" ", "-"}) > 1 or max(map(len, groups)) > 6):
            continue  # mixed or odd separators: not how a card is written
        yield "CREDIT_CARD", start, end


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_ibans(text: str, runs: list[Run]) -> Iterator[Span]:
    for m in _in_runs(IBAN, text, runs, 6, (40, 40)):
        length = IBAN_LENGTHS.get(m.group()[:2].upper())
        if length is None:
            continue
        chars, end = 0, m.start()
        for i in range(m.start(), m.end()):
            if text[i] not in " \u00a0":
                chars += 1
                if chars == length:
                    end = i + 1
                    break
        compact = re.sub(r"[\s\u00a0]", "", text[m.start() : end]).upper()
        if chars == length and not _ASCII_ALNUM.match(text, end) and iban_ok(compact):
            yield "IBAN", m.start(), end


_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")


def iban_ok(iban: str) -> bool:
    if not iban.isascii() or not iban.isalnum():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_ips(text: str, low: str, runs: list[Run]) -> Iterator[Span]:
    if "." in text:
        for m in _in_runs(IPV4, text, runs, 4):
            if not _VERSION_CUE.search(low, max(0, m.start() - 16), m.start()):
                yield "IP_ADDRESS", m.start(), m.end()
    if "::" in text or text.count(":") >= 5:
        for m in IPV6.finditer(text):
            value = m.group().split("%")[0]
            groups = [g for g in re.split(r"[:.]", value) if g]
            if (len(groups) >= 3 or value == "::1") and _ipv6_ok(value):
                yield "IP_ADDRESS", m.start(), m.end()


def _ipv6_ok(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def find_ssns(text: str, low: str, runs: list[Run]) -> Iterator[Span]:
    for m in _in_runs(SSN, text, runs, 9):
        yield "US_SSN", m.start(), m.end()
    if "ssn" in low or "ss#" in low or "social sec" in low or "sozialv" in low:
        for m in SSN_CUED.finditer(text):
            yield "US_SSN", m.start(1), m.end(1)
        for m in _in_runs(_SSN_BARE, text, runs, 9):  # "016422395 — that's the SSN on file"
            if _SSN_AFTER.search(low, m.end(), m.end() + 40):
                yield "US_SSN", m.start(), m.end()
