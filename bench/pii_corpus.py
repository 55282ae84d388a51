"""A seeded evaluation set for the PII scrubber: chat records with planted values and look-alikes.

``make_corpus(n, seed)`` returns ``Case``s. Each holds a record in tunelab's JSONL chat format
(support chats in 17 languages, medical notes, legal clauses, HR e-mails, logs and config, pasted
code, assistant tool calls whose ``arguments`` and tool results are JSON), the values planted in it
and the look-alike negatives that must survive. A planted value names its type, the JSON pointer of
the string that holds it, its exact text, and the parts that must all be gone for it to count as
found (an address's number, street, postcode and city; a name's words; a number's digit groups).
Negatives: order and invoice ids, versions and IP-like build numbers, prices, SKUs, tracking and
16-digit numbers failing Luhn, IBANs failing mod-97, dates that are not birth dates, "May"/"Will"
as words, product names, code identifiers, tool-call ids and ordinary sentences in every script.
About a quarter of the records hold no PII at all.

The names, streets and sentences are written here by hand, independently of the scrubber's rules
(the scrubber is also judged on a larger set written apart from both). The file is long because it
is mostly that data. Case ``i`` draws from its own ``random.Random(f"{seed}:{i}")``, so a case does
not depend on ``n``.

    from pii_corpus import make_corpus, to_jsonl   # with bench/ on sys.path
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass, field

from tunelab.data.privacy import PII_TYPES  # noqa: F401  (re-exported: the type names only)

SCRIPTS = tuple(
    "latin cyrillic greek arabic hebrew chinese japanese korean devanagari thai".split()
)


@dataclass(frozen=True)
class Planted:
    """A PII value in the record: found when none of ``parts`` survives in the string at
    ``pointer`` (beyond the copies that were there outside planted values)."""

    type: str
    pointer: str
    text: str
    parts: tuple[str, ...]
    form: str  # the format drawn (``US:national``, ``v6:compressed``...); the script for PERSON


@dataclass(frozen=True)
class Negative:
    """A look-alike that must be kept: its exact text stays in the string at ``pointer``."""

    kind: str
    pointer: str
    text: str


@dataclass
class Case:
    record: dict
    planted: list[Planted]
    negatives: list[Negative]
    template: str

    @property
    def pii_free(self) -> bool:
        return not self.planted


# --- checksums -----------------------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}", s):
        return False
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def ssn_ok(ssn: str) -> bool:
    """US SSN area rules: area 001-899 but not 666, group 01-99, serial 0001-9999."""
    d = re.sub(r"\D", "", ssn)
    if len(d) != 9:
        return False
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


def _iban_check_digits(country: str, bban: str) -> str:
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - n % 97:02d}"


# --- random pieces -------------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


def _rand(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


PATTERN_POOLS = {"X": string.digits, "Y": "23456789", "L": string.ascii_uppercase}
PATTERN_POOLS["A"] = string.ascii_uppercase + string.digits


def _pattern(rng: random.Random, pattern: str) -> str:
    """X: a digit, Y: 2-9, [a-b]: a digit from a to b, L: a capital, A: a capital or digit."""

    def draw(m: re.Match) -> str:
        if m.group(1):
            return str(rng.randint(int(m.group(1)), int(m.group(2))))
        return rng.choice(PATTERN_POOLS[m.group(0)])

    return re.sub(r"\[(\d)-(\d)\]|[XYLA]", draw, pattern)


def _words(text: str) -> list[str]:
    return text.split()


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def _runs(text: str, n: int) -> tuple[str, ...]:
    """Alphanumeric runs of at least n characters: the pieces of a number or key that must go."""
    return tuple(r for r in re.findall(r"[0-9A-Za-z]+", text) if len(r) >= n) or (text,)


# --- phone numbers -------------------------------------------------------------------------------
# country: [(prefixes, patterns)]; "{a}" is a prefix without the trunk 0, X a digit, Y 2-9.
PHONE_PLAN = """
US: 212 213 305 312 415 503 512 617 646 702 718 206 404 469 614 720 917 = ({a}) YXX-XXXX
    | {a}-YXX-XXXX | {a}.YXX.XXXX | +1 {a} YXX XXXX | +1-{a}-YXX-XXXX | +1 ({a}) YXX-XXXX
    | 1-{a}-YXX-XXXX | +1{a}YXXXXXX
CA: 416 604 514 403 613 647 = ({a}) YXX-XXXX | {a}-YXX-XXXX | {a}.YXX.XXXX | +1 {a} YXX XXXX
    | +1-{a}-YXX-XXXX | +1 ({a}) YXX-XXXX
UK: 7400 7412 7506 7523 7446 7387 7123 7012 = 0{a} XXXXXX | +44 {a} XXXXXX | +44 (0){a} XXXXXX
    | 0{a}XXXXXX | +44{a}XXXXXX
UK: 20 = 0{a} 7XXX XXXX | +44 {a} 7XXX XXXX | +44 (0){a} 3XXX XXXX | (0{a}) 8XXX XXXX
UK: 161 121 131 = 0{a} [2-7]XX XXXX | +44 {a} [2-7]XX XXXX
DE: 151 152 157 160 162 163 170 171 172 173 174 175 176 177 178 179 = 0{a} XXXXXXXX
    | +49 {a} XXXXXXXX | 0{a}-XXXXXXXX | +49{a}XXXXXXXX | +49 (0){a} XXXXXXXX | 0{a}/XXXXXXXX
DE: 30 40 89 221 69 711 = 0{a} YXXXXXX | +49 {a} YXXXXXX | (0{a}) YXXXXXX | +49 (0){a} YXXXXXX
    | 0{a}/YXXXXXX
FR: 1 3 9 = 0{a} XX XX XX XX | +33 {a} XX XX XX XX | +33 (0){a} XX XX XX XX | 0{a}.XX.XX.XX.XX
    | 0{a}-XX-XX-XX-XX | 0{a}XXXXXXXX | +33{a}XXXXXXXX
FR: 2 4 5 = 0{a} [1-5]X XX XX XX | +33 {a} [1-5]X XX XX XX | +33 (0){a} [1-5]X XX XX XX
    | 0{a}.[1-5]X.XX.XX.XX | 0{a}-[1-5]X-XX-XX-XX | 0{a}[1-5]XXXXXXX | +33{a}[1-5]XXXXXXX
FR: 6 7 = 0{a} [4-8]X XX XX XX | +33 {a} [4-8]X XX XX XX | +33 (0){a} [4-8]X XX XX XX
    | 0{a}.[4-8]X.XX.XX.XX | 0{a}-[4-8]X-XX-XX-XX | 0{a}[4-8]XXXXXXX | +33{a}[4-8]XXXXXXX
ES: 61 62 63 64 65 66 67 68 69 71 72 = {a}X XX XX XX | {a}X XXX XXX | +34 {a}X XXX XXX
    | +34 {a}X XX XX XX | +34{a}XXXXXXX
ES: 91 93 95 96 = {a} XXX XX XX | +34 {a} XXX XX XX
MX: 55 33 81 = +52 {a} XXXX XXXX | {a} XXXX XXXX
IT: 320 328 333 335 338 340 345 347 348 349 366 380 392 = +39 {a} XXX XXXX | {a} XXXXXXX
    | {a} XXX XXXX | +39{a}XXXXXXX
IT: 06 02 011 055 081 = {a} XXXX XXXX | +39 {a} XXXX XXXX
BR: 11 21 31 41 51 61 71 81 85 19 = ({a}) 9XXXX-XXXX | +55 {a} 9XXXX-XXXX | +55 ({a}) 9XXXX-XXXX
    | {a} 9XXXX XXXX | +55{a}9XXXXXXXX | ({a}) 3XXX-XXXX | +55 {a} 3XXX-XXXX
PL: 50 51 53 57 60 66 69 72 78 79 88 = +48 {a}X XXX XXX | {a}X XXX XXX | {a}X-XXX-XXX
    | +48{a}XXXXXXX
PL: 22 12 61 71 58 = {a} XXX XX XX | +48 {a} XXX XX XX
NL: 6 = 0{a}-[1-6]XXXXXXX | +31 {a} [1-6]XXXXXXX | 0{a} [1-6]X XX XX XX | +31{a}[1-6]XXXXXXX
NL: 20 10 30 70 = 0{a} XXX XXXX | +31 {a} XXX XXXX | 0{a}-XXX XXXX
RU: 912 915 916 903 905 926 977 999 921 985 495 499 812 343 383 = +7 {a} XXX-XX-XX
    | 8 ({a}) XXX-XX-XX | +7 ({a}) XXX-XX-XX | 8 {a} XXX XX XX | +7{a}XXXXXXX | 8-{a}-XXX-XX-XX
GR: 690 693 694 695 697 698 699 210 = +30 {a} XXX XXXX | {a} XXX XXXX | {a}XXXXXXX
GR: 2310 = {a} XXX XXX | +30 {a} XXX XXX
SA: 50 53 54 55 56 58 59 = +966 {a} XXX XXXX | 0{a} XXX XXXX | 0{a}XXXXXXX | +966{a}XXXXXXX
AE: 50 52 54 55 56 58 = +971 {a} XXX XXXX | 0{a} XXX XXXX | +971-{a}-XXX-XXXX
EG: 10 11 12 15 = +20 {a} XXXX XXXX | 0{a} XXXX XXXX | 0{a}XXXXXXXX
IL: 50 52 53 54 = +972 {a}-[2-9]XX-XXXX | 0{a}-[2-9]XX-XXXX | 0{a}[2-9]XXXXXX
    | +972 {a} [2-9]XX XXXX
IL: 2 3 4 8 9 = 0{a}-[2-8]XX-XXXX | +972 {a}-[2-8]XX-XXXX
CN: 130 131 132 135 136 137 138 139 150 151 152 158 159 177 186 187 188 189 199 = +86 {a} XXXX XXXX
    | {a} XXXX XXXX | {a}-XXXX-XXXX | {a}XXXXXXXX | +86-{a}-XXXX-XXXX | +86{a}XXXXXXXX
CN: 10 21 = 0{a}-YXXXXXXX | +86 {a} YXXX XXXX | (0{a}) YXXXXXXX
JP: 90 80 70 = 0{a}-[1-9]XXX-XXXX | +81 {a}-[1-9]XXX-XXXX | +81 {a} [1-9]XXX XXXX
    | 0{a}[1-9]XXXXXXX
JP: 3 6 = 0{a}-YXXX-XXXX | +81 {a}-YXXX-XXXX | (0{a}) YXXX-XXXX
JP: 45 52 92 = 0{a}-YXX-XXXX | +81 {a}-YXX-XXXX
KR: 10 = 0{a}-XXXX-XXXX | +82 {a}-XXXX-XXXX | +82 {a} XXXX XXXX | 0{a} XXXX XXXX | 0{a}XXXXXXXX
KR: 2 = 0{a}-YXXX-XXXX | +82 {a}-YXXX-XXXX
KR: 31 51 = 0{a}-YXX-XXXX
IN: 98 99 97 96 95 94 93 91 90 89 88 87 86 85 84 83 82 81 80 79 78 77 76 75 70 63 62 =
    +91 {a}XXX XXXXX | +91-{a}XXX-XXXXX | {a}XXX XXXXX | 0{a}XXX XXXXX | {a}XXXXXXXX
    | +91{a}XXXXXXXX | +91 {a}XXXXXXXX
IN: 11 22 80 44 = 0{a} 2XXX XXXX | +91 {a} 2XXX XXXX | 0{a}-2XXXXXXX
TH: 81 82 83 84 85 86 87 89 61 62 63 64 65 91 92 93 94 95 = 0{a}-XXX-XXXX | +66 {a} XXX XXXX
    | 0{a} XXX XXXX | 0{a}XXXXXXX | +66 {a}-XXX-XXXX
TH: 2 = 0{a}-YXX-XXXX | +66 {a} YXX XXXX
AU: 400 404 409 412 418 421 433 438 = 0{a} XXX XXX | +61 {a} XXX XXX | 0{a}XXXXXX | +61{a}XXXXXX
AU: 2 3 7 8 = (0{a}) 9XXX XXXX | 0{a} 9XXX XXXX | +61 {a} 9XXX XXXX
"""


def _plan(text: str) -> list[str]:
    """Lines of a table, with indented lines joined to the one above."""
    lines: list[str] = []
    for line in text.strip("\n").splitlines():
        if line.startswith("    "):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


PHONES: dict[str, list[tuple[list[str], list[str]]]] = {}
for _line in _plan(PHONE_PLAN):
    _country, _rest = _line.split(": ", 1)
    _prefixes, _patterns = _rest.split(" = ")
    PHONES.setdefault(_country, []).append((_prefixes.split(), _patterns.split(" | ")))


def make_phone(rng: random.Random, country: str) -> tuple[str, str]:
    prefixes, patterns = rng.choice(PHONES[country])
    pattern = rng.choice(patterns)
    text = _pattern(rng, pattern.replace("{a}", rng.choice(prefixes)))
    return text, f"{country}:{'intl' if text.startswith('+') else 'national'}"


# --- cards, IBANs, SSNs, IPs ---------------------------------------------------------------------
CARDS = [  # brand, prefixes, length, grouping
    ("visa", ["4"], 16, (4, 4, 4, 4)),
    ("mastercard", ["51", "52", "53", "54", "55", "2221", "2540", "2720"], 16, (4, 4, 4, 4)),
    ("amex", ["34", "37"], 15, (4, 6, 5)),
    ("discover", ["6011", "65", "644"], 16, (4, 4, 4, 4)),
    ("jcb", ["3528", "3566", "3589"], 16, (4, 4, 4, 4)),
    ("diners", ["36", "300", "305"], 14, (4, 6, 4)),
    ("unionpay", ["62"], 16, (4, 4, 4, 4)),
]


def _group(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i : i + size])
        i += size
    return sep.join(out)


def make_card(rng: random.Random, *, valid: bool = True) -> tuple[str, str]:
    brand, prefixes, length, sizes = rng.choice(CARDS if valid else CARDS[:2])
    prefix = rng.choice(prefixes)
    body = prefix + _digits(rng, length - 1 - len(prefix))
    check = next(d for d in string.digits if luhn_ok(body + d) == valid)
    number = body + check
    sep = rng.choice(["", " ", " ", "-"])
    return (
        _group(number, sizes, sep) if sep else number
    ), f"{brand}:{'grouped' if sep else 'plain'}"


# country: the BBAN after the check digits; a number n stands for n digits, L for a letter
IBAN_PLAN = (
    "DE:18 GB:LLLL14 FR:23 ES:20 IT:L22 NL:LLLL10 BE:12 CH:17 AT:16 PL:24 SE:20 NO:11 DK:14 PT:21 "
    "IE:LLLL14 BR:23LA TR:22 SA:20 AE:19 FI:14 LU:16 GR:23 IL:19"
)
IBANS = {
    country: re.sub(r"\d+", lambda m: "X" * int(m.group()), bban)
    for country, bban in (item.split(":") for item in IBAN_PLAN.split())
}
IBANS["TR"] = "X" * 5 + "0" + "X" * 16  # a reserved digit, always 0
BANK_CODES = {
    "GB": "NWBK BARC HBUK LOYD MIDL".split(),
    "NL": "ABNA INGB RABO TRIO".split(),
    "IE": "AIBK BOFI".split(),
}


def make_iban(rng: random.Random, country: str, *, valid: bool = True) -> tuple[str, str]:
    bban = _pattern(rng, IBANS[country])
    if country in BANK_CODES:
        bban = rng.choice(BANK_CODES[country]) + bban[4:]
    check = _iban_check_digits(country, bban)
    if not valid:
        check = rng.choice([f"{c:02d}" for c in range(2, 99) if f"{c:02d}" != check])
    iban = country + check + bban
    spaced = rng.random() < 0.6
    text = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if spaced else iban
    return text, f"{country}:{'spaced' if spaced else 'plain'}"


SSN_AREAS = [a for a in range(1, 900) if a != 666]


def make_ssn(rng: random.Random) -> tuple[str, str]:
    area = rng.choice(SSN_AREAS)
    d = f"{area:03d}", f"{rng.randrange(1, 100):02d}", f"{rng.randrange(1, 10000):04d}"
    sep = rng.choice(["-", "-", "-", " ", ""])
    return sep.join(d), "dashed" if sep == "-" else ("spaced" if sep else "plain")


def make_ipv4(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["private", "public", "public", "doc"])
    if kind == "private":
        first = rng.choice(["10.{}.{}.{}", "192.168.{}.{}", "172.{}.{}.{}"])
        if first.startswith("172"):
            return f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", "v4"
        octets = [rng.randrange(256) for _ in range(first.count("{}") - 1)] + [
            rng.randrange(1, 255)
        ]
        return first.format(*octets), "v4"
    if kind == "doc":
        net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{rng.randrange(1, 255)}", "v4"
    first = rng.choice([a for a in range(1, 224) if a not in (10, 127, 169, 172, 192)])
    rest = [rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)]
    return ".".join(map(str, [first, *rest])), "v4"


def make_ipv6(rng: random.Random) -> tuple[str, str]:
    prefix = rng.choice(
        [["2001", "db8"], ["2a02", "8108"], ["2606", "4700"], ["fe80", "0"], ["2a01", "4f8"]]
    )
    groups = [int(p, 16) for p in prefix] + [0] * 6
    for i in range(2, 8):  # leave a run of zeros to compress, sometimes
        groups[i] = 0 if rng.random() < 0.35 else rng.randrange(1, 0x10000)
    if rng.random() < 0.15:
        return f"::ffff:{make_ipv4(rng)[0]}", "v6:mapped"
    if rng.random() < 0.3:
        return ":".join(f"{g:04x}" for g in groups), "v6:full"
    text = str(_compress(groups))
    return (text.upper() if rng.random() < 0.1 else text), "v6:compressed"


def _compress(groups: list[int]) -> str:
    best, start = (0, -1), None
    for i, g in enumerate([*groups, 1]):
        if g == 0 and start is None:
            start = i
        elif g != 0 and start is not None:
            best = max(best, (i - start, start))
            start = None
    parts = [f"{g:x}" for g in groups]
    if best[0] < 2:
        return ":".join(parts)
    length, at = best
    return ":".join(parts[:at]) + "::" + ":".join(parts[at + length :])


# --- secrets -------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def make_jwt(rng: random.Random) -> str:
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    issued = rng.randrange(1_650_000_000, 1_760_000_000)
    payload = {"sub": str(rng.randrange(10**5, 10**9)), "iat": issued, "exp": issued + 3600}
    if rng.random() < 0.5:
        payload["scope"] = rng.choice(["read:orders", "admin", "openid profile"])
    sig = _bytes(rng, {"HS256": 32, "RS256": 256, "ES256": 64}[alg])
    dump = lambda d: _b64url(json.dumps(d, separators=(",", ":")).encode())  # noqa: E731
    return f"{dump(header)}.{dump(payload)}.{_b64url(sig)}"


PEM_KINDS = {  # label: the DER prefix its base64 body starts with
    "RSA PRIVATE KEY": "MIIEpAIBAAKCAQEA",
    "PRIVATE KEY": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "EC PRIVATE KEY": "MHcCAQEEI",
    "OPENSSH PRIVATE KEY": "b3BlbnNzaC1rZXktdjEAAAAA",
}


def make_pem(rng: random.Random) -> str:
    label = rng.choice(list(PEM_KINDS))
    body = PEM_KINDS[label] + base64.b64encode(_bytes(rng, rng.randrange(150, 420))).decode()
    width = 70 if label.startswith("OPENSSH") else 64
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


API_KEYS: dict[str, Callable[[random.Random], str]] = {
    "openai": lambda r: r.choice(["sk-", "sk-proj-"]) + _rand(r, r.choice([48, 64, 96]), URLSAFE),
    "anthropic": lambda r: "sk-ant-api03-" + _rand(r, 93, URLSAFE) + "AA",
    "stripe": lambda r: (
        r.choice(["sk_live_", "rk_live_", "sk_test_"]) + _rand(r, r.choice([24, 99]))
    ),
    "github": lambda r: r.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + _rand(r, 36),
    "github_pat": lambda r: "github_pat_" + _rand(r, 22) + "_" + _rand(r, 59),
    "slack": lambda r: (
        r.choice(["xoxb-", "xoxp-"]) + f"{_digits(r, 12)}-{_digits(r, 13)}-{_rand(r, 24)}"
    ),
    "aws_key": lambda r: (
        r.choice(["AKIA", "ASIA"]) + _rand(r, 16, string.ascii_uppercase + "234567")
    ),
    "aws_secret": lambda r: _rand(r, 40, ALNUM + "/+"),
    "google": lambda r: "AIza" + _rand(r, 35, URLSAFE),
    "gitlab": lambda r: "glpat-" + _rand(r, 20, URLSAFE),
    "huggingface": lambda r: "hf_" + _rand(r, 34, string.ascii_letters),
    "npm": lambda r: "npm_" + _rand(r, 36),
    "sendgrid": lambda r: "SG." + _rand(r, 22, URLSAFE) + "." + _rand(r, 43, URLSAFE),
}
KNOWN_PREFIX = [k for k in API_KEYS if k != "aws_secret"]


PASSWORD_WORDS = _words(
    "Summer Winter Sunshine Dragon Monkey Football Liverpool Princess Shadow Master Welcome "
    "Berlin Falcon Rainbow Tiger Coffee Orange Panther Galaxy Thunder"
)
PASSPHRASE_WORDS = _words(
    "correct horse battery staple maple river cloud piano tiger lemon rocket velvet cactus ocean"
)


def make_password(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return rng.choice(PASSWORD_WORDS) + str(rng.randrange(1990, 2026)) + rng.choice("!#$%*?")
    if style == 1:
        return _rand(rng, rng.randrange(10, 21), ALNUM + "!@#$%^&*-_.+=?")
    if style == 2:
        return "-".join(rng.sample(PASSPHRASE_WORDS, 4)) + str(rng.randrange(10, 99))
    word = rng.choice(PASSWORD_WORDS).replace("a", "@").replace("o", "0").replace("e", "3")
    return word + rng.choice("_.!") + _digits(rng, rng.randrange(2, 5))


def make_token(rng: random.Random) -> str:
    """A high-entropy token as a service would mint it (hex or base64url)."""
    if rng.random() < 0.5:
        return _rand(rng, rng.choice([32, 40, 64]), HEX)
    return _rand(rng, rng.choice([32, 43, 48]), URLSAFE)


# --- person names --------------------------------------------------------------------------------
# Latin script by origin: (given names, family names); "_" joins a multi-word family name.
LATIN = {
    "en": (
        "James Emily Michael Sarah David Jessica Daniel Olivia Matthew Hannah Christopher Ashley "
        "Andrew Megan Joshua Lauren Ryan Rachel Brandon Chloe Grace Will Bill May Mark Rose Hope",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
        "Martin Jackson Thompson White Harris Clark Lewis Walker O'Brien McAllister Fitzgerald "
        "Henderson",
    ),
    "de": (
        "Jürgen Jörg Günter Björn Lukas Maximilian Felix Jonas Sophie Lena Käthe Anneliese Uwe "
        "Dörte Bärbel Hans-Peter Mareike Sören Friederike Tobias",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
        "Bauer Richter Klein Wolf Schröder Neumann Zimmermann Krüger Hartmann Köhler Weiß Groß",
    ),
    "fr": (
        "François Hélène Chloé Anaïs Zoé Léa Amélie Céline Jérôme Étienne Loïc Gaël Benoît Noël "
        "Thérèse Aurélie Mathéo Inès Anne-Sophie Jean-Baptiste",
        "Lefèvre Dubois Moreau Laurent Girard Bonnet Dupré Rousseau Fournier Mercier Lemaître "
        "Chevalier Faure Gauthier Bélanger Bérubé Lévesque",
    ),
    "es": (
        "José María Jesús Ángel Álvaro Raúl Sofía Lucía Martín Inés Begoña Nuria Íñigo Rocío "
        "Adrián Ramón Mónica Joaquín",
        "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Jiménez Ruiz "
        "Hernández Díaz Muñoz Álvarez Romero Núñez Ibáñez Peña Castaño",
    ),
    "pt": (
        "João José António Gonçalo Conceição Inês Luís Sebastião Thaís Vitória Lúcia Márcio "
        "Flávia Caio Letícia Gabriela Rafael",
        "Silva Santos Oliveira Souza Pereira Gonçalves Magalhães Araújo Lima Carvalho Rocha "
        "Simões Câmara Brandão Assunção",
    ),
    "it": (
        "Giuseppe Giovanni Francesca Chiara Niccolò Lucia Matteo Alessandro Giulia Federica "
        "Lorenzo Beatrice Elisa",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
        "De_Luca Mancini Costa Giordano Lombardi Moretti D'Angelo",
    ),
    "pl": (
        "Łukasz Małgorzata Bartłomiej Paweł Michał Wojciech Zofia Agnieszka Katarzyna Grzegorz "
        "Jędrzej Józef Dorota Ewa Żaneta Krzysztof",
        "Nowak Wójcik Mazur Krawczyk Woźniak Kaczmarek Zając Król Wróbel Sikora Baran Duda Pawlak "
        "Michalak Kowalczyk Wąsik Żak",
    ),
    "nl": (
        "Daan Sanne Maarten Bram Femke Anouk Sem Joost Lieke Thijs Eline Ruud",
        "de_Vries van_den_Berg Jansen de_Jong Bakker Visser Smit van_Dijk Meijer de_Boer Mulder "
        "van_der_Linden",
    ),
    "nordic": (
        "Søren Bjørn Åsa Håkan Jörgen Ólafur Þórunn Sigríður Åse Kristín Mikael Ingrid",
        "Jørgensen Sørensen Andersson Johansson Håkansson Björk Lindqvist Guðmundsdóttir Ólafsson "
        "Nyström Sjöberg",
    ),
    "central": (
        "Tomáš Zdeněk Jiří Růžena Šárka Ondřej Đorđe Ivana Ştefan Ioana Mihály Zsófia",
        "Dvořák Novák Procházka Čapek Horvat Kovačević Marković Popescu Ionescu Szabó Kovács Nagy",
    ),
    "tr": (
        "Ayşe Çağla Gökhan Emre Elif Mehmet Büşra Oğuz Özlem Serkan",
        "Yılmaz Öztürk Çelik Doğan Şahin Aydın Kılıç Arslan Güneş Özdemir",
    ),
    "vi": (
        "An Mai Đức Hà Linh Tuấn Hương Dũng Phương Thảo",
        "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Đặng Bùi",
    ),
    "world": (
        "Priya Aditya Wei Yuki Ahmed Chinedu Oluwaseun Amara Kwame Ngozi Tariq Mei Hiroshi Anjali",
        "Sharma Patel Zhang Tanaka Al-Farsi Okafor Adeyemi Mensah Nwosu Haddad Chen Nakamura "
        "Banerjee",
    ),
}
VI_MIDDLE = _words("Văn Thị Minh Thu Ngọc Quang")
# Other scripts: male and female given names (or one list), family names.
NAMES = {
    "cyrillic": (
        "Иван Алексей Дмитрий Сергей Андрей Михаил Николай Владимир Павел Артём Богдан Тарас "
        "Ярослав Григорий Фёдор Олег Юрий Константин",
        "Ольга Татьяна Наталья Екатерина Анна Мария Елена Светлана Юлия Ксения Оксана Олена "
        "Людмила Зоя Анастасия Дарья Ирина Вера",
        "Иванов Петров Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Волков "
        "Соловьёв Васильев Зайцев Павлов Семёнов Голубев Виноградов Богданов Воробьёв Шевченко "
        "Коваленко Бондаренко Ткаченко Мельник Достоевский Чайковский",
    ),
    "greek": (
        "Γιώργος Νίκος Κώστας Δημήτρης Γιάννης Παναγιώτης Χρήστος Βασίλης Αθανάσιος Μιχάλης "
        "Σπύρος Αντώνης Ευάγγελος Στέλιος Θανάσης Άγγελος",
        "Μαρία Ελένη Αικατερίνη Βασιλική Σοφία Αγγελική Δήμητρα Γεωργία Ευαγγελία Χριστίνα Ιωάννα "
        "Κωνσταντίνα Αναστασία Ειρήνη Δέσποινα Φωτεινή",
        "Παπαδόπουλος:Παπαδοπούλου Παπαδάκης:Παπαδάκη Γεωργίου Οικονόμου Νικολάου Παππάς:Παππά "
        "Βλάχος:Βλάχου Αντωνίου Μακρής:Μακρή Αθανασίου Ιωάννου Δημητρίου Καραγιάννης:Καραγιάννη "
        "Κωνσταντίνου Αλεξίου Μαυρίδης:Μαυρίδου Χατζηδάκης:Χατζηδάκη Σταθόπουλος:Σταθοπούλου "
        "Πετρίδης:Πετρίδου Κυριακίδης:Κυριακίδου",
    ),
    "arabic": (
        "محمد أحمد علي عمر خالد يوسف إبراهيم حسن حسين مصطفى عبدالله طارق سامي كريم ماجد فيصل زياد "
        "سعيد",
        "فاطمة عائشة مريم زينب نور ليلى سارة هدى رنا سلمى خديجة أمل ياسمين دينا رهف لمى",
        "العتيبي الحربي القحطاني الشمري الزهراني المصري حداد خوري منصور الخطيب النجار السيد "
        "الهاشمي البغدادي الدوسري الغامدي سليمان الأحمد الشامي التميمي",
    ),
    "hebrew": (
        "דוד משה יוסף אברהם יעקב דניאל אורי נועם איתי עומר יונתן אריאל אליעזר שלמה רון גיל",
        "שרה רחל לאה מרים נועה תמר מיכל יעל שירה אביגיל רבקה הילה ליאת אורית דנה מאיה",
        "כהן לוי מזרחי פרץ ביטון דהן אברהם פרידמן אזולאי מלכה שפירא גולדברג רוזנברג קפלן אשכנזי "
        "ברק שמעוני חדד אוחיון גבאי",
    ),
    "chinese": (
        "伟 强 磊 军 洋 勇 杰 涛 明 超 平 刚 建华 晓明 浩然 一诺 思远 俊杰",
        "芳 娜 秀英 敏 静 丽 艳 娟 秀兰 霞 桂英 子涵 梓萱 雨桐 嘉怡",
        "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 欧阳 司马 诸葛",
    ),
    "japanese": (
        "太郎 翔太 大輔 健太 拓也 直樹 蓮 陽翔 悠真 湊 健一 翼",
        "花子 さくら 陽菜 結衣 美咲 愛 優子 由美 恵子 葵 美月 結菜 彩 真由美 ひかり",
        "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 "
        "林 斎藤 清水 森 池田 橋本",
    ),
    "korean": (
        "민준 서준 도윤 예준 시우 하준 지호 주원 지후 준서 현우 철수 동현 성민",
        "서연 서윤 지우 서현 민서 하은 하윤 윤서 지유 채원 지민 수빈 영희 은지 혜진 유진",
        "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 홍 남궁 제갈",
    ),
    "devanagari": (
        "राहुल अमित विजय सुनील अनिल राजेश संजय दीपक मनोज अर्जुन रोहित आदित्य ऋषि विक्रम आकाश निखिल",
        "प्रिया पूजा नेहा अंजलि सुनीता कविता स्नेहा आरती गीता लक्ष्मी सीता श्रेया ईशा",
        "शर्मा वर्मा गुप्ता सिंह कुमार पटेल यादव जोशी मिश्रा चौहान अग्रवाल मेहता त्रिपाठी पांडे "
        "श्रीवास्तव देशपांडे कुलकर्णी राव नायर रेड्डी",
    ),
    "thai": (
        "สมชาย สมศักดิ์ วิชัย ประเสริฐ อนุชา ณัฐพล ธนากร กิตติ ชัยวัฒน์ สุรชัย ธีรวัฒน์ อำนาจ บุญมี สุนทร",
        "สมหญิง สุดา กมล ศิริพร วรรณา นภา พิมพ์ชนก ปิยะ อรุณี รัตนา จันทร์เพ็ญ ปวีณา มาลี วิไล ชนิดา ธิดารัตน์",
        "ใจดี สุขสวัสดิ์ วงศ์สวัสดิ์ ศรีสุข แสงทอง บุญเรือง ทองดี รัตนพันธ์ จันทร์แก้ว มีสุข สมบูรณ์ "
        "พึ่งบุญ ประเสริฐศักดิ์ ศรีวงศ์ เพชรรัตน์ กิตติศักดิ์ ชัยมงคล นาคสวัสดิ์ อินทร์แก้ว ทองคำ",
    ),
}
PATRONYMICS = [
    ("Сергеевич", "Сергеевна"),
    ("Иванович", "Ивановна"),
    ("Петрович", "Петровна"),
    ("Александрович", "Александровна"),
    ("Николаевич", "Николаевна"),
    ("Андреевич", "Андреевна"),
    ("Викторович", "Викторовна"),
    ("Михайлович", "Михайловна"),
]
CJK = ("chinese", "japanese", "korean")
PARTICLES = {"van", "de", "den", "der", "von", "da", "di", "del", "la", "le", "dos", "das", "du"}
PARTICLES |= {"bin", "بن", "بنت"}


@dataclass(frozen=True)
class Person:
    full: str
    given: str
    family: str
    script: str
    female: bool

    @property
    def parts(self) -> tuple[str, ...]:
        tokens = re.split(r"[\s\u3000,]+", self.full)
        parts = [t for t in tokens if len(t.rstrip(".")) >= 2 and t.lower() not in PARTICLES]
        if self.script in CJK and len(parts) <= 1:
            parts = [self.full] + [p for p in (self.family, self.given) if len(p) >= 2]
        return tuple(dict.fromkeys(parts)) or (self.full,)


def _female_ru(family: str) -> str:
    if family.endswith("ский"):
        return family[:-4] + "ская"
    return family + "а" if family.endswith(("ов", "ев", "ёв", "ин")) else family


def make_person(rng: random.Random, script: str, origin: str | None = None) -> Person:
    if script == "latin":
        return _latin_person(rng, origin or rng.choice(list(LATIN)))
    male, female, families = NAMES[script]
    is_female = rng.random() < 0.5
    given = rng.choice(_words(female if is_female else male))
    family = rng.choice(_words(families))
    if script == "greek" and ":" in family:
        family = family.split(":")[1 if is_female else 0]
    if script == "cyrillic" and is_female:
        family = _female_ru(family)
    return Person(_arrange(rng, script, given, family, is_female), given, family, script, is_female)


def _arrange(rng: random.Random, script: str, given: str, family: str, female: bool) -> str:
    roll = rng.random()
    if script == "cyrillic":
        patronymic = rng.choice(PATRONYMICS)[female]
        if roll < 0.15:
            return f"{family} {given}"
        if roll < 0.25:
            return f"{given} {patronymic} {family}"
        if roll < 0.35:
            return f"{family} {given} {patronymic}"
        if roll < 0.42:
            return f"{family} {given[0]}. {patronymic[0]}."
        return f"{given} {family}"
    if script == "arabic" and roll < 0.25:
        father = rng.choice(_words(NAMES["arabic"][0]))
        return f"{given} {'بنت' if female else 'بن'} {father} {family}"
    if script == "chinese":
        return f"{family} {given}" if roll < 0.05 else family + given
    if script == "japanese":
        return family + given if roll < 0.4 else family + rng.choice([" ", "\u3000"]) + given
    if script == "korean":
        return f"{family} {given}" if roll < 0.1 else family + given
    if script == "devanagari" and roll < 0.1:
        return f"{given} कुमार {family}"
    if script in ("greek", "hebrew") and roll < 0.15:
        return f"{family} {given}"
    return f"{given} {family}"


def _latin_person(rng: random.Random, origin: str) -> Person:
    given_names, families = LATIN[origin]
    given = rng.choice(_words(given_names))
    family = rng.choice(_words(families)).replace("_", " ")
    roll = rng.random()
    if origin == "vi":
        full = f"{family} {rng.choice(VI_MIDDLE)} {given}"
    elif origin == "es" and roll < 0.5:
        full = f"{given} {family} {rng.choice(_words(families)).replace('_', ' ')}"
    elif roll < 0.06:
        full = f"{family}, {given}"
    elif roll < 0.12:
        full = f"{given} {rng.choice(string.ascii_uppercase)}. {family}"
    else:
        full = f"{given} {family}"
    return Person(full, given, family, "latin", False)


# --- street addresses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    text: str
    parts: tuple[str, ...]  # number, street, postcode, city: each must be gone


def _addr(text: str, *parts: str) -> Address:
    missing = [p for p in parts if p not in text]
    assert not missing, (text, missing)
    return Address(text, tuple(dict.fromkeys(parts)))


def _pick(rng: random.Random, table: str) -> list[str]:
    """One row of a '|'-separated table of ';'-separated fields."""
    return rng.choice(table.split("|")).split(";")


US_CITIES = (
    "Springfield;IL;627|Austin;TX;787|Portland;OR;972|Denver;CO;802|Columbus;OH;432|Madison;WI;537|"
    "Raleigh;NC;276|Tucson;AZ;857|Sacramento;CA;958|Boise;ID;837|Albany;NY;122|Savannah;GA;314|"
    "Omaha;NE;681|Burlington;VT;054|Spokane;WA;992"
)
US_STREETS = _words(
    "Maple Oak Pine Cedar Elm Washington Lincoln Lake Hill Sunset Highland Jefferson Madison "
    "Franklin Willow Chestnut Walnut Spruce Magnolia Lakeview Riverside"
)
US_TYPES = _words("Street St. Avenue Ave Road Rd. Boulevard Blvd Lane Drive Dr. Court Way Place")


def _address_us(rng: random.Random, one_line: bool) -> Address:
    city, state, zip3 = _pick(rng, US_CITIES)
    num, street = str(rng.randrange(1, 9999)), rng.choice(US_STREETS)
    zipcode = zip3 + _digits(rng, 2) + ("-" + _digits(rng, 4) if rng.random() < 0.15 else "")
    line1 = f"{num} {street} {rng.choice(US_TYPES)}"
    if rng.random() < 0.2:
        unit = rng.choice(["Apt", "Suite", "Unit"])
        line1 += f", {unit} {rng.randrange(1, 40)}{rng.choice(['', 'B'])}"
    sep = ", " if one_line or rng.random() < 0.7 else "\n"
    return _addr(f"{line1}{sep}{city}, {state} {zipcode}", num, street, zipcode, city)


UK_CITIES = (
    "London;SW1A E14 N1 W2 SE15 NW3 EC2A|Manchester;M1 M14 M20|Birmingham;B15 B1|Leeds;LS6|"
    "Bristol;BS8|Glasgow;G12|Edinburgh;EH3|Cardiff;CF10|Oxford;OX1|Cambridge;CB2"
)
UK_STREETS = _words("High Church Station Victoria Green Manor Park Mill Albert Springfield Baker")
UK_TYPES = _words("Road Street Lane Close Gardens Avenue Crescent Terrace")


def _address_uk(rng: random.Random, one_line: bool) -> Address:
    city, areas = _pick(rng, UK_CITIES)
    postcode = (
        f"{rng.choice(areas.split())} {rng.randrange(1, 10)}{_rand(rng, 2, 'ABDEFGHJLNPQRSTUWXYZ')}"
    )
    num = str(rng.randrange(1, 300)) + rng.choice(["", "", "", "A", "B"])
    street = rng.choice(UK_STREETS)
    line1 = f"{num} {street} {rng.choice(UK_TYPES)}"
    if rng.random() < 0.2:
        line1 = f"Flat {rng.randrange(1, 12)}, {line1}"
    sep = ", " if one_line or rng.random() < 0.7 else "\n"
    return _addr(f"{line1}{sep}{city} {postcode}", num, street, postcode, city)


def _address_ca(rng: random.Random, one_line: bool) -> Address:
    city, prov, letter = _pick(
        rng, "Toronto;ON;M|Montreal;QC;H|Vancouver;BC;V|Ottawa;ON;K|Calgary;AB;T"
    )
    postcode = _pattern(rng, f"{letter}XL XLX")
    num, street = str(rng.randrange(1, 9999)), rng.choice(US_STREETS)
    text = f"{num} {street} {rng.choice(['Street', 'Avenue', 'Road'])}, {city}, {prov} {postcode}"
    return _addr(text, num, street, postcode, city)


def _address_au(rng: random.Random, one_line: bool) -> Address:
    suburb, state, code = _pick(
        rng,
        "Newtown;NSW;2042|Bondi;NSW;2026|Fitzroy;VIC;3065|Carlton;VIC;3053|"
        "Paddington;QLD;4064|Fremantle;WA;6160|Glenelg;SA;5045",
    )
    num, street = str(rng.randrange(1, 400)), rng.choice(US_STREETS + UK_STREETS)
    text = f"{num} {street} {rng.choice(['St', 'Street', 'Rd', 'Parade'])}, {suburb} {state} {code}"
    return _addr(text, num, street, code, suburb)


DE_CITIES = (
    "Berlin;10115 10245 10437 12043 13353|München;80331 80469 81667|Hamburg;20095 22765 20357|"
    "Köln;50667 50733 51065|Frankfurt am Main;60311 60487|Stuttgart;70173 70599|"
    "Düsseldorf;40210 40477|Leipzig;04103 04277|Dresden;01067 01309|Nürnberg;90402 90429|"
    "Münster;48143 48153|Würzburg;97070 97082"
)
DE_STREETS = _words(
    "Hauptstraße Bahnhofstraße Schillerstraße Goethestr. Gartenweg Lindenallee Berliner_Straße "
    "Kirchgasse Waldweg Ringstraße Schulstraße Dorfstraße Birkenweg Mozartstraße "
    "Friedrich-Ebert-Straße Am_Markt Marktplatz Kastanienallee"
)


def _address_de(rng: random.Random, one_line: bool) -> Address:
    city, codes = _pick(rng, DE_CITIES)
    plz, street = rng.choice(codes.split()), rng.choice(DE_STREETS).replace("_", " ")
    num = str(rng.randrange(1, 180)) + rng.choice(["", "", "", "a", "b"])
    sep = ", " if one_line or rng.random() < 0.7 else "\n"
    return _addr(f"{street} {num}{sep}{plz} {city}", num, street, plz, city)


FR_CITIES = (
    "Paris;750|Lyon;6900|Marseille;130|Toulouse;31000|Nantes;44000|Bordeaux;33000|Lille;59000|"
    "Strasbourg;67000|Montpellier;34000|Rennes;35000"
)
FR_STREETS = (  # shown|the part that must go
    "de la République;République|Victor Hugo;Victor Hugo|Jean Jaurès;Jean Jaurès|des Lilas;Lilas|"
    "du Général de Gaulle;Général de Gaulle|Pasteur;Pasteur|de la Paix;Paix|Émile Zola;Émile Zola|"
    "des Écoles;Écoles|Saint-Honoré;Saint-Honoré|Gambetta;Gambetta"
)


def _address_fr(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(rng, FR_CITIES)
    cp = code + f"{rng.randrange(1, 21):02d}" if len(code) == 3 else code
    cp = code + str(rng.randrange(1, 10)) if len(code) == 4 else cp
    shown, part = _pick(rng, FR_STREETS)
    num = str(rng.randrange(1, 150)) + rng.choice(["", "", "", " bis"])
    kind = rng.choice(["rue", "rue", "avenue", "boulevard", "place", "allée", "impasse"])
    sep = ", " if one_line or rng.random() < 0.7 else "\n"
    return _addr(f"{num} {kind} {shown}{sep}{cp} {city}", num, part, cp, city)


ES_CITIES = "Madrid;280|Barcelona;080|Valencia;460|Sevilla;410|Bilbao;480|Zaragoza;500|Málaga;290"
ES_STREETS = (
    "Calle Mayor;Mayor|Calle de Alcalá;Alcalá|Gran Vía;Gran Vía|Calle de Serrano;Serrano|"
    "Avenida de la Constitución;Constitución|Calle Real;Real|Paseo del Prado;Prado|"
    "Calle de la Princesa;Princesa|Avenida de Colón;Colón|C/ San Fernando;San Fernando"
)


def _address_es(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(rng, ES_CITIES)
    cp = code + f"{rng.randrange(1, 50):02d}"
    shown, part = _pick(rng, ES_STREETS)
    num = str(rng.randrange(1, 200))
    floor = rng.choice(["", "", f", {rng.randrange(1, 9)}º {rng.choice('ABCD')}"])
    return _addr(f"{shown}, {num}{floor}, {cp} {city}", num, part, cp, city)


IT_CITIES = "Roma;001;RM|Milano;201;MI|Napoli;801;NA|Torino;101;TO|Firenze;501;FI|Bologna;401;BO"
IT_STREETS = (
    "Garibaldi;Garibaldi|Giuseppe Mazzini;Mazzini|Dante Alighieri;Alighieri|dei Mille;Mille|"
    "Nazionale;Nazionale|Vittorio Emanuele II;Vittorio Emanuele|Cavour;Cavour|"
    "della Repubblica;Repubblica|Roma;Roma"
)


def _address_it(rng: random.Random, one_line: bool) -> Address:
    city, code, prov = _pick(rng, IT_CITIES)
    cap = code + f"{rng.randrange(18, 60):02d}"
    shown, part = _pick(rng, IT_STREETS)
    if part == city:
        shown, part = "Cavour", "Cavour"
    num = str(rng.randrange(1, 200))
    kind = rng.choice(["Via", "Via", "Viale", "Corso", "Piazza"])
    return _addr(f"{kind} {shown} {num}, {cap} {city} ({prov})", num, part, cap, city)


BR_CITIES = (
    "São Paulo;SP;01 04 05|Rio de Janeiro;RJ;20 22|Belo Horizonte;MG;30|Curitiba;PR;80|"
    "Porto Alegre;RS;90|Salvador;BA;40|Recife;PE;50"
)
BR_STREETS = (
    "Rua das Flores;Flores|Rua Augusta;Augusta|Rua Oscar Freire;Oscar Freire|"
    "Av. Paulista;Paulista|Rua XV de Novembro;XV de Novembro|"
    "Avenida Sete de Setembro;Sete de Setembro|"
    "Rua Barão de Itapetininga;Itapetininga|Avenida Atlântica;Atlântica"
)


def _address_br(rng: random.Random, one_line: bool) -> Address:
    city, uf, codes = _pick(rng, BR_CITIES)
    cep = rng.choice(codes.split()) + _digits(rng, 3) + "-" + _digits(rng, 3)
    shown, part = _pick(rng, BR_STREETS)
    num = str(rng.randrange(1, 3000))
    bairro = rng.choice(["Centro", "Jardins", "Copacabana", "Savassi", "Batel", "Boa Viagem"])
    return _addr(f"{shown}, {num} - {bairro}, {city} - {uf}, {cep}", num, part, cep, city)


def _address_pl(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(rng, "Warszawa;00|Kraków;31|Łódź;90|Wrocław;50|Poznań;61|Gdańsk;80")
    kod = f"{code}-{_digits(rng, 3)}"
    street = rng.choice(
        _words("Marszałkowska Długa Piotrkowska Floriańska Mickiewicza Słowackiego Kościuszki")
    )
    num = f"{rng.randrange(1, 120)}" + (f"/{rng.randrange(1, 40)}" if rng.random() < 0.5 else "")
    return _addr(f"ul. {street} {num}, {kod} {city}", num, street, kod, city)


def _address_nl(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(
        rng, "Amsterdam;10|Rotterdam;30|Utrecht;35|Den Haag;25|Eindhoven;56|Groningen;97"
    )
    postcode = f"{code}{_digits(rng, 2)} {_rand(rng, 2, 'ABCDEGHJKLMNPRSTVWXZ')}"
    street = rng.choice(
        _words("Kerkstraat Dorpsstraat Molenweg Schoolstraat Stationsweg Prinsengracht Julianalaan")
    )
    num = str(rng.randrange(1, 300))
    return _addr(f"{street} {num}, {postcode} {city}", num, street, postcode, city)


def _address_ru(rng: random.Random, one_line: bool) -> Address:
    city, lo = _pick(
        rng, "Москва;101|Санкт-Петербург;190|Новосибирск;630|Екатеринбург;620|Казань;420|Самара;443"
    )
    index = lo + _digits(rng, 3)
    street = rng.choice(
        _words("Ленина Тверская Пушкина Гагарина Советская Мира Садовая Лесная Центральная")
    )
    num, flat = str(rng.randrange(1, 120)), str(rng.randrange(1, 300))
    if rng.random() < 0.5:
        text = f"г. {city}, ул. {street}, д. {num}, кв. {flat}, {index}"
    else:
        text = f"{index}, {city}, ул. {street}, д. {num}"
    return _addr(text, num, street, index, city)


def _address_gr(rng: random.Random, one_line: bool) -> Address:
    city, lo = _pick(rng, "Αθήνα;10|Αθήνα;11|Θεσσαλονίκη;54|Πάτρα;26|Ηράκλειο;71")
    tk = f"{lo}{rng.randrange(10)} {_digits(rng, 2)}"
    street = rng.choice(
        _words("Ερμού Σταδίου Πανεπιστημίου Αθηνάς Πατησίων Εγνατίας Τσιμισκή Κηφισίας")
    )
    num = str(rng.randrange(1, 200))
    prefix = rng.choice(["Οδός ", ""])
    return _addr(f"{prefix}{street} {num}, {tk} {city}", num, street, tk, city)


def _address_sa(rng: random.Random, one_line: bool) -> Address:
    city = rng.choice(["الرياض", "جدة", "الدمام", "مكة المكرمة", "المدينة المنورة"])
    street = rng.choice(
        ["الملك فهد", "العليا", "التحلية", "الأمير سلطان", "الملك عبدالعزيز", "الستين"]
    )
    district = rng.choice(["العليا", "الروضة", "النزهة", "السلامة", "الحمراء"])
    num, postal = str(rng.randrange(1, 9000)), _digits(rng, 5)
    return _addr(f"{num} شارع {street}، حي {district}، {city} {postal}", num, street, postal, city)


def _address_il(rng: random.Random, one_line: bool) -> Address:
    city = rng.choice(["תל אביב", "ירושלים", "חיפה", "באר שבע", "רמת גן", "פתח תקווה", "נתניה"])
    street = rng.choice(["הרצל", "דיזנגוף", "בן יהודה", "אלנבי", "רוטשילד", "ויצמן", "ז'בוטינסקי"])
    num, mikud = str(rng.randrange(1, 200)), _digits(rng, 7)
    return _addr(f"רחוב {street} {num}, {city} {mikud}", num, street, mikud, city)


CN_CITIES = (
    "北京;100;朝阳 海淀 东城 西城|上海;200;浦东新 徐汇 静安 黄浦|广州;510;天河 越秀|"
    "深圳;518;南山 福田|杭州;310;西湖 上城|成都;610;武侯 锦江"
)


def _address_cn(rng: random.Random, one_line: bool) -> Address:
    city, code, districts = _pick(rng, CN_CITIES)
    road = rng.choice(_words("建国 长安 中山 人民 解放 南京 淮海 深南 科技 文三")) + rng.choice(
        ["路", "路", "街", "大道"]
    )
    num, postal = str(rng.randrange(1, 999)), code + _digits(rng, 3)
    body = f"{city}市{rng.choice(districts.split())}区{road}{num}号"
    if rng.random() < 0.3:
        body += f"{rng.randrange(1, 30)}号楼{rng.randrange(101, 2500)}室"
    text = f"{postal} {body}" if rng.random() < 0.5 else f"{body}，邮编{postal}"
    return _addr(text, num + "号", road, postal, city + "市")


JP_PLACES = (
    "東京都;渋谷区;神宮前 道玄坂 恵比寿|東京都;新宿区;西新宿 高田馬場|"
    "大阪府;大阪市北区;梅田 中之島|神奈川県;横浜市西区;みなとみらい|"
    "愛知県;名古屋市中村区;名駅|福岡県;福岡市博多区;博多駅前|北海道;札幌市中央区;大通西"
)


def _address_jp(rng: random.Random, one_line: bool) -> Address:
    pref, city, areas = _pick(rng, JP_PLACES)
    area = rng.choice(areas.split())
    c, b, g = rng.randrange(1, 9), rng.randrange(1, 30), rng.randrange(1, 20)
    num = rng.choice([f"{c}-{b}-{g}", f"{c}丁目{b}番{g}号"])
    post = f"{_digits(rng, 3)}-{_digits(rng, 4)}"
    text = f"〒{post} {pref}{city}{area}{num}"
    return _addr(text, num, area, post, city)


KR_PLACES = (
    "서울특별시;강남구;테헤란로 강남대로 논현로|서울특별시;종로구;세종대로 종로|"
    "서울특별시;마포구;월드컵로|부산광역시;해운대구;해운대로|"
    "인천광역시;연수구;컨벤시아대로|대구광역시;중구;동성로"
)


def _address_kr(rng: random.Random, one_line: bool) -> Address:
    city, gu, roads = _pick(rng, KR_PLACES)
    road, num, postal = rng.choice(roads.split()), str(rng.randrange(1, 500)), _digits(rng, 5)
    body = f"{city} {gu} {road} {num}"
    text = f"({postal}) {body}" if rng.random() < 0.4 else f"{body} ({postal})"
    return _addr(text, num, road, postal, city)


IN_CITIES = (
    "Bengaluru;5600|Mumbai;4000|New Delhi;1100|Chennai;6000|Hyderabad;5000|Pune;4110|Kolkata;7000"
)


def _address_in(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(rng, IN_CITIES)
    pin = code + _digits(rng, 2)
    road = rng.choice(_words("MG Brigade Linking Hill Nehru Gandhi Station Residency")) + " Road"
    num = str(rng.randrange(1, 400))
    area = rng.choice(["Indiranagar", "Bandra West", "Koramangala", "Andheri East", "Jayanagar"])
    flat = rng.choice(["", f"Flat {rng.randrange(101, 1200)}, Sunrise Apartments, "])
    return _addr(f"{flat}{num}, {road}, {area}, {city} {pin}", num, road, pin, city)


def _address_hi(rng: random.Random, one_line: bool) -> Address:
    city, code = _pick(rng, "नई दिल्ली;1100|मुंबई;4000|जयपुर;3020|लखनऊ;2260|पटना;8000|भोपाल;4620")
    pin = code + _digits(rng, 2)
    road = rng.choice(_words("गांधी नेहरू तिलक सुभाष राजेंद्र शिवाजी")) + " मार्ग"
    num = str(rng.randrange(1, 400))
    area = rng.choice(["करोल बाग", "लाजपत नगर", "मालवीय नगर", "गोमती नगर", "अशोक नगर"])
    return _addr(f"मकान नं. {num}, {road}, {area}, {city} - {pin}", num, road, pin, city)


def _address_th(rng: random.Random, one_line: bool) -> Address:
    road = rng.choice(_words("สุขุมวิท สีลม เพชรบุรี รัชดาภิเษก ลาดพร้าว พหลโยธิน นิมมานเหมินท์"))
    num = f"{rng.randrange(1, 999)}" + (f"/{rng.randrange(1, 99)}" if rng.random() < 0.5 else "")
    if rng.random() < 0.7:
        city, postal = "กรุงเทพมหานคร", "10" + _digits(rng, 3)
        district = rng.choice(["คลองเตย", "บางรัก", "ห้วยขวาง", "จตุจักร", "วัฒนา"])
        text = f"{num} ถนน{road} แขวง{district} เขต{district} {city} {postal}"
    else:
        city, postal = "เชียงใหม่", "50200"
        text = f"{num} ถนน{road} ตำบลสุเทพ อำเภอเมืองเชียงใหม่ {city} {postal}"
    return _addr(text, num, road, postal, city)


ADDRESSES: dict[str, Callable[[random.Random, bool], Address]] = {
    "US": _address_us,
    "UK": _address_uk,
    "CA": _address_ca,
    "AU": _address_au,
    "DE": _address_de,
    "FR": _address_fr,
    "ES": _address_es,
    "IT": _address_it,
    "BR": _address_br,
    "PL": _address_pl,
    "NL": _address_nl,
    "RU": _address_ru,
    "GR": _address_gr,
    "SA": _address_sa,
    "IL": _address_il,
    "CN": _address_cn,
    "JP": _address_jp,
    "KR": _address_kr,
    "IN": _address_in,
    "IN-hi": _address_hi,
    "TH": _address_th,
}


# --- dates, e-mail addresses ---------------------------------------------------------------------
MONTHS_PLAN = """
en: January February March April May June July August September October November December
de: Januar Februar März April Mai Juni Juli August September Oktober November Dezember
fr: janvier février mars avril mai juin juillet août septembre octobre novembre décembre
es: enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
pt: janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro
it: gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre
pl: stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada
    grudnia
nl: januari februari maart april mei juni juli augustus september oktober november december
ru: января февраля марта апреля мая июня июля августа сентября октября ноября декабря
el: Ιανουαρίου Φεβρουαρίου Μαρτίου Απριλίου Μαΐου Ιουνίου Ιουλίου Αυγούστου Σεπτεμβρίου Οκτωβρίου
    Νοεμβρίου Δεκεμβρίου
th: มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม พฤศจิกายน
    ธันวาคม
"""
MONTHS = dict(line.split(": ") for line in _plan(MONTHS_PLAN))
_MONTHS = {lang: [""] + _words(names) for lang, names in MONTHS.items()}
_NUMERIC = {
    "dmy/": "{d:02d}/{m:02d}/{y}",
    "dmy.": "{d:02d}.{m:02d}.{y}",
    "dmy-": "{d:02d}-{m:02d}-{y}",
    "mdy/": "{m:02d}/{d:02d}/{y}",
    "iso": "{y}-{m:02d}-{d:02d}",
}
DATE_FORMS = {  # lang: numeric forms and forms with the month's name (M)
    "en": ["mdy/", "iso", "dmy/", "{d} {M} {y}", "{M} {d}, {y}", "{d:02d}-{Mon}-{y}"],
    "de": ["dmy.", "{d}. {M} {y}", "{d}.{m}.{y}"],
    "fr": ["dmy/", "{d} {M} {y}"],
    "es": ["dmy/", "{d} de {M} de {y}"],
    "pt": ["dmy/", "{d} de {M} de {y}"],
    "it": ["dmy/", "{d} {M} {y}"],
    "pl": ["dmy.", "{d} {M} {y}"],
    "nl": ["dmy-", "{d} {M} {y}"],
    "ru": ["dmy.", "{d} {M} {y}"],
    "el": ["dmy/", "{d} {M} {y}"],
    "ar": ["dmy/", "iso"],
    "he": ["dmy/", "dmy."],
    "zh": ["{y}年{m}月{d}日", "iso", "{y}/{m:02d}/{d:02d}"],
    "ja": ["{y}年{m}月{d}日", "{y}/{m:02d}/{d:02d}", "era"],
    "ko": ["{y}년 {m}월 {d}일", "{y}.{m:02d}.{d:02d}", "iso"],
    "hi": ["dmy/", "dmy-"],
    "th": ["dmy/", "{d} {M} {be}"],
}


def make_date(rng: random.Random, lang: str, years: tuple[int, int]) -> tuple[str, str]:
    y, m, d = rng.randrange(*years), rng.randrange(1, 13), rng.randrange(1, 29)
    form = rng.choice(DATE_FORMS[lang])
    if form == "era":
        if 1926 <= y <= 1988:
            return f"昭和{y - 1925}年{m}月{d}日", f"{lang}:era"
        if 1990 <= y <= 2018:
            return f"平成{y - 1988}年{m}月{d}日", f"{lang}:era"
        form = "{y}年{m}月{d}日"
    names = _MONTHS.get(lang, _MONTHS["en"])
    pattern = _NUMERIC.get(form, form)
    text = pattern.format(y=y, m=m, d=d, M=names[m], Mon=names[m][:3], be=y + 543)
    return text, f"{lang}:{'numeric' if form in _NUMERIC else 'words'}"


DOMAINS = {
    "en": "gmail.com outlook.com yahoo.com icloud.com protonmail.com hotmail.co.uk btinternet.com "
    "northwind-traders.com acme-corp.io contoso.com fabrikam.co.uk mail.stanford.edu",
    "de": "web.de gmx.de t-online.de posteo.de gmx.net schulz-logistik.de",
    "fr": "orange.fr free.fr laposte.net wanadoo.fr sfr.fr",
    "es": "hotmail.es telefonica.net gmail.com yahoo.es",
    "pt": "uol.com.br bol.com.br terra.com.br gmail.com",
    "it": "libero.it virgilio.it tiscali.it alice.it",
    "pl": "wp.pl onet.pl o2.pl interia.pl",
    "nl": "ziggo.nl kpnmail.nl hotmail.nl",
    "ru": "mail.ru yandex.ru rambler.ru bk.ru list.ru",
    "el": "otenet.gr yahoo.gr gmail.com",
    "ar": "hotmail.com gmail.com stc.com.sa yahoo.com",
    "he": "walla.co.il bezeqint.net gmail.com",
    "zh": "qq.com 163.com 126.com sina.com",
    "ja": "yahoo.co.jp docomo.ne.jp ezweb.ne.jp gmail.com",
    "ko": "naver.com daum.net kakao.com",
    "hi": "rediffmail.com gmail.com yahoo.co.in",
    "th": "hotmail.co.th gmail.com",
}
ROMAN = {  # romanised names for e-mail addresses of people who write in another script
    "ru": "ivan olga sergey natasha dmitry elena petrov ivanova smirnov kuznetsova volkov",
    "el": "giorgos maria nikos eleni papadopoulos georgiou kostas",
    "ar": "mohammed ahmed fatima omar khalid alharbi alotaibi mariam",
    "he": "david noa yossi cohen levi tamar mizrahi",
    "zh": "wang li zhang wei fang liu chen xiaoming",
    "ja": "tanaka sato hanako taro suzuki yui takahashi",
    "ko": "kim lee park minjun seoyeon jihoon choi",
    "hi": "rahul priya sharma amit verma neha gupta",
    "th": "somchai suda jaidee wichai nipa thongdee",
}


def make_email(rng: random.Random, lang: str, person: Person | None) -> tuple[str, str]:
    if person is not None and person.script == "latin" and rng.random() < 0.6:
        given, family = _ascii(person.given) or "info", _ascii(person.family) or "mail"
    elif lang in ROMAN:
        given, family = rng.sample(_words(ROMAN[lang]), 2)
    else:
        origin = rng.choice(list(LATIN))
        given = _ascii(rng.choice(_words(LATIN[origin][0]))) or "anna"
        family = _ascii(rng.choice(_words(LATIN[origin][1]))) or "smith"
    style = rng.randrange(9)
    local = [
        f"{given}.{family}",
        f"{given[0]}{family}",
        f"{given}_{family}",
        f"{family}{rng.randrange(1, 99):02d}",
        f"{given}.{family}+{rng.choice(['orders', 'news', 'work'])}",
        f"{given}{rng.randrange(70, 100)}",
        f"{given[0]}.{family}",
        f"{family}.{given}",
        _digits(rng, 9) if lang == "zh" else f"{given}-{family}",
    ][style]
    domain = rng.choice(_words(DOMAINS.get(lang, DOMAINS["en"])))
    text = f"{local}@{domain}"
    if rng.random() < 0.07:
        text = f"{local.title()}@{domain.title()}"
    return text, f"{lang}:{style}"


# --- look-alike negatives ------------------------------------------------------------------------
def _amount(rng: random.Random) -> float:
    if rng.random() < 0.5:
        return rng.randrange(1, 100) + 0.99
    return rng.randrange(5, 3000) + rng.choice([0.0, 0.5, 0.9, 0.95, 0.99])


def make_price(rng: random.Random) -> str:
    a = _amount(rng)
    en = f"{a:,.2f}"
    eu = en.replace(",", " ").replace(".", ",").replace(" ", ".")
    return rng.choice(
        [
            f"${en}",
            f"€{eu}",
            f"{eu} €",
            f"EUR {eu}",
            f"£{en}",
            f"¥{int(a) * 100:,}",
            f"₹{int(a) * 10:,}",
            f"R$ {eu}",
            f"CHF {en}",
            f"US${en}",
        ]
    )


def make_order(rng: random.Random) -> str:
    return _pattern(
        rng,
        rng.choice(["ORD-2024-XXXXXX", "#XXXXXXX", "LLL-XXXXX", "PO-XXXXX", "1XX-XXXXXXX-XXXXXXX"]),
    )


def make_invoice(rng: random.Random) -> str:
    return _pattern(
        rng, rng.choice(["INV-202X-XXXXX", "RE-202X-XXXX", "F202X-XXXX", "202X/INV/00XXX"])
    )


def make_version(rng: random.Random) -> str:
    a, b, c = rng.randrange(0, 16), rng.randrange(0, 30), rng.randrange(0, 20)
    return rng.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}", f"v{a}.{b}.{c}-rc.{rng.randrange(1, 5)}"])


def make_build(rng: random.Random) -> str:
    """Four dotted numbers, each a valid IPv4 octet: it follows 'version' or 'build' in the text."""
    return ".".join(str(rng.randrange(0, 256 if i else 20)) for i in range(4))


def make_sku(rng: random.Random) -> str:
    color, size = rng.choice(["BLK", "WHT", "RED", "NVY"]), rng.choice(["S", "M", "L", "XL"])
    return rng.choice(
        [
            f"SKU-{_digits(rng, 4)}-{color}-{size}",
            _pattern(rng, "LL-XXXX-L"),
            _pattern(rng, "LLLXXXXX"),
        ]
    )


def _luhn_failing(rng: random.Random, n: int, prefix: str = "") -> str:
    while True:
        digits = prefix + _digits(rng, n - len(prefix))
        if not luhn_ok(digits):
            return digits


def make_tracking(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "1Z" + _rand(rng, 6, string.ascii_uppercase + string.digits) + _digits(rng, 10)
    if kind == 1:
        return _pattern(rng, "LLXXXXXXXXXLL")
    digits = _luhn_failing(rng, rng.choice([16, 18, 20, 22]), "9400" if kind == 2 else "")
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4)) if kind == 2 else digits


def make_fake_card(rng: random.Random) -> str:
    """Sixteen digits with a card's prefix that fail Luhn."""
    return make_card(rng, valid=False)[0]


def make_isbn(rng: random.Random) -> str:
    body = "978" + _digits(rng, 9)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    digits = body + str(check)
    return f"{digits[:3]}-{digits[3]}-{digits[4:6]}-{digits[6:12]}-{digits[12]}"


def make_case_no(rng: random.Random) -> str:
    return rng.choice(
        [
            f"2:{rng.randrange(19, 25)}-cv-{_digits(rng, 5)}",
            f"{rng.randrange(1, 40)} O {_digits(rng, 3)}/{rng.randrange(19, 25)}",
            f"RG {rng.randrange(19, 25)}/{_digits(rng, 5)}",
        ]
    )


def make_request_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_timestamp(rng: random.Random) -> str:
    y, m, d = rng.randrange(2022, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
    hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    return f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z"


def make_cred_url(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    scheme, host = _pick(
        rng,
        "postgres;db.internal:5432/app|"
        "postgresql;db-prod-01.eu-west-1.rds.amazonaws.com:5432/orders|"
        "mysql;mysql.internal:3306/shop|mongodb+srv;cluster0.x7k2p.mongodb.net/prod|"
        "mongodb;mongo-1.internal:27017/events|redis;cache.internal:6379/0|"
        "amqp;mq.northwind.local:5672/|https;git.example.com/team/repo.git|"
        "http;intranet.contoso.com/reports|ftp;ftp.example.org/incoming|"
        "sftp;files.fabrikam.com:22/|"
        "smtp;smtp.mailgun.org:587",
    )
    user = rng.choice(["admin", "svc_app", "deploy", "root", "app_user", "etl", "backup", "anna.k"])
    user = "" if scheme == "redis" and rng.random() < 0.5 else user
    password = _rand(rng, rng.randrange(8, 21), ALNUM + "-_.~!*")
    text = f"{scheme}://{user}:{password}@{host}"
    return text, ((f"{user}:{password}",) if user else (password,)), scheme


# --- the writer: templates with slots -------------------------------------------------------------
# In a template, {slot} draws a value (a planted PII value or a look-alike), {slot#k} draws it once
# per case under key k and repeats it, and [[text]] marks literal text as a negative (a word).
SLOT = re.compile(r"\{(\w+)(?:#(\w+))?\}|\[\[(.+?)\]\]")
LANGS = {  # script (None: any), Latin name origin, phone, address and IBAN countries
    "en": (
        None,
        "en",
        "US US US UK UK CA AU IN",
        "US US US UK UK CA AU IN DE FR",
        "GB DE FR NL IE CH",
    ),
    "de": ("latin", "de", "DE", "DE", "DE AT CH"),
    "fr": ("latin", "fr", "FR", "FR", "FR BE LU"),
    "es": ("latin", "es", "ES MX", "ES", "ES"),
    "pt": ("latin", "pt", "BR", "BR", "BR PT"),
    "it": ("latin", "it", "IT", "IT", "IT"),
    "pl": ("latin", "pl", "PL", "PL", "PL"),
    "nl": ("latin", "nl", "NL", "NL", "NL BE"),
    "ru": ("cyrillic", None, "RU", "RU", "DE FI"),
    "el": ("greek", None, "GR", "GR", "GR"),
    "ar": ("arabic", None, "SA AE EG", "SA", "SA AE"),
    "he": ("hebrew", None, "IL", "IL", "IL"),
    "zh": ("chinese", None, "CN", "CN", "GB DE"),
    "ja": ("japanese", None, "JP", "JP", "GB DE"),
    "ko": ("korean", None, "KR", "KR", "GB DE"),
    "hi": ("devanagari", None, "IN", "IN-hi", "GB AE"),
    "th": ("thai", None, "TH", "TH", "GB DE"),
}


@dataclass(frozen=True)
class _Pii:
    type: str
    text: str
    parts: tuple[str, ...]
    form: str


@dataclass(frozen=True)
class _Neg:
    kind: str
    text: str


@dataclass(frozen=True)
class _Text:
    """Filler a slot draws that is neither PII nor a look-alike."""

    text: str


@dataclass
class Writer:
    """Builds one record message by message, keeping the labels of what each slot drew."""

    rng: random.Random
    lang: str = "en"
    messages: list[dict] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    negatives: list[Negative] = field(default_factory=list)
    person: Person | None = None
    _pending: list = field(default_factory=list)
    _memo: dict = field(default_factory=dict)
    _call_id: str = ""

    def pick(self, items: list[str]) -> str:
        return self.rng.choice(items)

    def new_person(self) -> Person:
        script, origin = LANGS[self.lang][:2]
        if script is None:
            script = "latin" if self.rng.random() < 0.34 else self.pick(SCRIPTS[1:])
            origin = "en" if self.rng.random() < 0.5 else None
        self.person = make_person(self.rng, script, origin)
        return self.person

    def country(self, column: int) -> str:
        return self.pick(_words(LANGS[self.lang][column]))

    def fill(self, template: str, *, json_safe: bool = False) -> str:
        def draw(m: re.Match) -> str:
            if m.group(3) is not None:
                value = _Neg("word", m.group(3))
            elif m.group(2) and (m.group(1), m.group(2)) in self._memo:
                value = self._memo[m.group(1), m.group(2)]
            else:
                value = SLOTS[m.group(1)](self, json_safe)
                if m.group(2):
                    self._memo[m.group(1), m.group(2)] = value
            self._pending.append(value)
            return value.text

        return SLOT.sub(draw, template)

    def _fill_json(self, obj):
        if isinstance(obj, dict):
            return {k: self._fill_json(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._fill_json(v) for v in obj]
        return self.fill(obj, json_safe=True) if isinstance(obj, str) else obj

    def _flush(self, pointer: str, text: str) -> None:
        for value in self._pending:
            assert value.text in text, (value, text)
            if isinstance(value, _Text):
                continue
            if isinstance(value, _Pii):
                label, labels = Planted(value.type, pointer, *astuple(value)[1:]), self.planted
            else:
                label, labels = Negative(value.kind, pointer, value.text), self.negatives
            if label not in labels:  # a value repeated in one string is one label
                labels.append(label)
        self._pending = []

    def keep(self, kind: str, text: str) -> None:
        """Mark text of the next message as a negative (it must survive as it is)."""
        self._pending.append(_Neg(kind, text))

    def say(self, role: str, template: str, *, json_safe: bool = False) -> None:
        content = self.fill(template, json_safe=json_safe)
        self._flush(f"/messages/{len(self.messages)}/content", content)
        self.messages.append({"role": role, "content": content})

    def say_json(self, role: str, payload: dict) -> None:
        """A message whose content is JSON (structured output)."""
        content = json.dumps(self._fill_json(payload), ensure_ascii=False)
        self._flush(f"/messages/{len(self.messages)}/content", content)
        self.messages.append({"role": role, "content": content})

    def call(self, name: str, args: dict, template: str = "") -> None:
        """An assistant turn calling one tool; ``arguments`` is a JSON string holding values."""
        at = f"/messages/{len(self.messages)}"
        content = self.fill(template)
        self._flush(f"{at}/content", content)
        arguments = json.dumps(self._fill_json(args), ensure_ascii=False)
        self._flush(f"{at}/tool_calls/0/function/arguments", arguments)
        self._call_id = "call_" + _rand(self.rng, 24)
        self.negatives.append(Negative("call_id", f"{at}/tool_calls/0/id", self._call_id))
        function = {"name": name, "arguments": arguments}
        call = {"id": self._call_id, "type": "function", "function": function}
        self.messages.append({"role": "assistant", "content": content, "tool_calls": [call]})

    def tool(self, payload: dict) -> None:
        """The tool's answer to the last call: JSON in ``content``."""
        at = f"/messages/{len(self.messages)}"
        content = json.dumps(self._fill_json(payload), ensure_ascii=False)
        self._flush(f"{at}/content", content)
        self.negatives.append(Negative("call_id", f"{at}/tool_call_id", self._call_id))
        self.messages.append({"role": "tool", "tool_call_id": self._call_id, "content": content})

    def case(self, template: str) -> Case:
        assert not self._pending
        return Case({"messages": self.messages}, self.planted, self.negatives, template)


def _person_slot(which: str) -> Callable[[Writer, bool], _Pii]:
    def slot(w: Writer, json_safe: bool) -> _Pii:
        p = w.new_person() if which == "new" or w.person is None else w.person
        if which == "given" and p.script not in CJK:
            return _Pii("PERSON", p.given, (p.given,), p.script)
        return _Pii("PERSON", p.full, p.parts, p.script)

    return slot


def _secret(kind: str) -> Callable[[Writer, bool], _Pii]:
    def slot(w: Writer, json_safe: bool) -> _Pii:
        k = w.pick(KNOWN_PREFIX) if kind == "apikey" else kind
        if k == "pem" and json_safe:
            k = "token"
        if k == "pem":
            text = make_pem(w.rng)
            body = "\n".join(line for line in text.splitlines() if not line.startswith("-----"))
            return _Pii("SECRET", text, _runs(body, 8), k)
        if k == "password":
            text = make_password(w.rng)
            return _Pii("SECRET", text, _runs(text, 4), k)
        if k == "bearer":
            k = "jwt" if w.rng.random() < 0.3 else "token"
        make = {"jwt": make_jwt, "token": make_token}.get(k) or API_KEYS[k]
        text = make(w.rng)
        return _Pii("SECRET", text, _runs(text, 8), k)

    return slot


def _pii(kind: str, make: Callable[[Writer, bool], tuple[str, str]], run: int = 4):
    def slot(w: Writer, json_safe: bool) -> _Pii:
        text, form = make(w, json_safe)
        return _Pii(kind, text, _runs(text, run) if run else (text,), form)

    return slot


def _email_slot(w: Writer, json_safe: bool) -> _Pii:
    text, form = make_email(w.rng, w.lang, w.person)
    local = text.split("@")[0]
    return _Pii("EMAIL", text, (local,) if len(local) >= 3 else (text,), form)


def _address_slot(w: Writer, json_safe: bool) -> _Pii:
    country = w.country(3)
    a = ADDRESSES[country](w.rng, json_safe)
    return _Pii("ADDRESS", a.text, a.parts, country)


def _dob_slot(w: Writer, json_safe: bool) -> _Pii:
    lang = w.lang if w.lang in DATE_FORMS else "en"
    text, form = make_date(w.rng, lang, (1938, 2007))
    year = re.findall(r"\d{4}", text)
    return _Pii("DATE_OF_BIRTH", text, (text, *year), form)


def _url_slot(w: Writer, json_safe: bool) -> _Pii:
    text, parts, scheme = make_cred_url(w.rng)
    return _Pii("URL_CREDENTIALS", text, parts, scheme)


URLS = [
    "https://docs.example.com/releases",
    "https://status.northwind.io",
    "https://github.com/tunelab/tunelab/issues",
]


def _neg(kind: str, make: Callable[[random.Random], str]) -> Callable[[Writer, bool], _Neg]:
    return lambda w, json_safe: _Neg(kind, make(w.rng))


def _plain(pool: str) -> Callable[[Writer, bool], _Text]:
    return lambda w, json_safe: _Text(w.rng.choice(PACKS["en"][pool]))


def _date_neg(w: Writer, json_safe: bool) -> _Neg:
    return _Neg("date", make_date(w.rng, w.lang if w.lang in DATE_FORMS else "en", (2018, 2027))[0])


SLOTS: dict[str, Callable[[Writer, bool], _Pii | _Neg | _Text]] = {
    "name": _person_slot("new"),
    "same": _person_slot("same"),
    "given": _person_slot("given"),
    "email": _email_slot,
    "phone": _pii("PHONE", lambda w, j: make_phone(w.rng, w.country(2))),
    "world_phone": _pii("PHONE", lambda w, j: make_phone(w.rng, w.pick(list(PHONES)))),
    "card": _pii("CREDIT_CARD", lambda w, j: make_card(w.rng)),
    "iban": _pii("IBAN", lambda w, j: make_iban(w.rng, w.country(4))),
    "world_iban": _pii("IBAN", lambda w, j: make_iban(w.rng, w.pick(list(IBANS)))),
    "ssn": _pii("US_SSN", lambda w, j: make_ssn(w.rng)),
    "ip": _pii(
        "IP_ADDRESS", lambda w, j: (make_ipv4 if w.rng.random() < 0.6 else make_ipv6)(w.rng), 0
    ),
    "ipv4": _pii("IP_ADDRESS", lambda w, j: make_ipv4(w.rng), 0),
    "ipv6": _pii("IP_ADDRESS", lambda w, j: make_ipv6(w.rng), 0),
    "address": _address_slot,
    "dob": _dob_slot,
    "cred_url": _url_slot,
    **{k: _secret(k) for k in [*API_KEYS, "apikey", "jwt", "pem", "bearer", "password", "token"]},
    "order": _neg("order_id", make_order),
    "invoice": _neg("invoice_id", make_invoice),
    "version": _neg("version", make_version),
    "build": _neg("build_number", make_build),
    "price": _neg("price", make_price),
    "sku": _neg("sku", make_sku),
    "tracking": _neg("tracking_number", make_tracking),
    "fake_card": _neg("luhn_failing_16", make_fake_card),
    "bad_iban": _neg("invalid_iban", lambda r: make_iban(r, r.choice(list(IBANS)), valid=False)[0]),
    "date": _date_neg,
    "ts": _neg("date", make_timestamp),
    "isbn": _neg("isbn", make_isbn),
    "case_no": _neg("case_number", make_case_no),
    "request_id": _neg("request_id", make_request_id),
    "sha": _neg("commit", lambda r: _rand(r, 7, HEX)),
    "icd": _neg("clinical", lambda r: r.choice(PACKS["en"]["icd"])),
    "bp": _neg("clinical", lambda r: f"BP {r.randrange(100, 160)}/{r.randrange(60, 100)}"),
    "dose": _neg("clinical", lambda r: f"{r.choice([5, 10, 20, 250, 400, 500, 850, 1000])} mg"),
    "ident": _neg("code", lambda r: r.choice(PACKS["en"]["identifiers"])),
    "code": _neg("code", lambda r: r.choice(PACKS["en"]["code_lines"])),
    "product": _neg("product", lambda r: r.choice(PACKS["en"]["products"])),
    "complaint": _plain("complaint"),
    "med": _plain("med"),
    "subject": _plain("hr_subject"),
    "age": lambda w, json_safe: _Text(str(w.rng.randrange(18, 90))),
    "pulse": lambda w, json_safe: _Text(str(w.rng.randrange(55, 110))),
    "cust": _neg("record_id", lambda r: "cus_" + _rand(r, 14)),
    "url": _neg("url", lambda r: r.choice(URLS)),
}


# --- sentences by language -----------------------------------------------------------------------
# intro..pay and secret plant PII; ask and clean hold look-alikes only; reply answers in kind.
PACKS_TEXT = r"""
en
  system: You are a helpful support assistant for Northwind Traders.
        | You are a customer-service agent. Be concise and never ask for full card numbers.
        | You answer questions about orders, returns and billing.
  system_pii: You are assisting {name}. Account email: {email}. Callback number: {phone}.
        | You are the concierge for {name}, who lives at {address}. Be discreet.
        | Internal note for the agent: customer {name}, DOB {dob}, verified by phone {phone}.
  intro: Hi, I'm {name}. | Hello, my name is {name}. | This is {name} from the Leeds office.
        | {name} here. | Hi there, it's {name} again. | I'm writing on behalf of my father, {name}.
        | Account holder: {name}. | Good morning! {name} speaking.
  contact: You can reach me at {phone}. | Call me back on {phone}, please. | My email is {email}.
        | Please send the receipt to {email}. | {email} is the best way to reach me.
        | Best number: {phone}. | Mobile {phone}, office {world_phone}.
        | Text me at {phone} or email {email}. | My work email is {email} and my cell is {phone}.
  address: Please ship it to {address}. | My new address is {address}.
        | I moved to {address} last month. | Deliver to: {address}.
        | The billing address is {address}.
  payment: The card I used was {card}. | Please refund it to my IBAN {world_iban}.
        | I paid with {card}, expiry 09/27. | Can you charge {card} instead? | Card number: {card}.
        | Wire it to {iban}, account holder {same}.
  identity: My SSN is {ssn}. | SSN: {ssn}.
        | For the background check: SSN {ssn}, date of birth {dob}. | I was born on {dob}.
        | DOB {dob}. | My date of birth is {dob}, not the one on file.
  secret: The wifi password is {password} | Temporary password: {password}
        | Here's my API key so you can test: {apikey} | Login: {email} / password: {password}
        | my password is {password} | The staging database is {cred_url}, use it for the demo.
        | Our old FTP login still works: {cred_url}
  problem: Order {order} still hasn't arrived.
        | The tracking number {tracking} shows no updates since {date}.
        | I paid {price} for the {product} but got the wrong size ({sku}).
        | [[May]] I change the delivery date to {date}?
        | [[Will]] the {product} work with firmware {version}?
        | Invoice {invoice} lists {price} instead of {price}.
        | [[Grace]] period or not, I was charged a late fee on {date}.
        | The {product} shows version {build} and keeps rebooting.
        | [[Bill]] me for the {product} only, not the case ({sku}).
        | My membership number is {fake_card}, if that helps.
        | Your form says IBAN {bad_iban} is invalid, but that's not even my account.
  closing: Thanks! | Thanks in advance. | Regards, {name} | Cheers, {given} | — {given}
        | Best, {given} | [[Hope]] to hear back soon.
  reply: Thanks, {given}. I've updated your details. | I've sent a confirmation to {email}.
        | Your refund of {price} for order {order} is on its way.
        | For your security, please don't share full card numbers in chat.
        | We'll call you at {phone} within one business day.
        | Got it — the new address is {address}.
        | I've escalated ticket {order} to our billing team.
        | [[Will]] do! Anything else I can help with? | Thanks for your patience, {given}.
  clean: Does the {product} support firmware {version}?
        | How much is the {product}? I saw {price} online. | [[May]] I return it after 30 days?
        | [[Will]] there be a sale on the {product}? | Order {order} — can you confirm it shipped?
        | The tracking number {tracking} hasn't updated since {date}.
        | Is the [[Grace]] period 30 days or 60? | [[Bill]] of materials for {sku} attached.
        | [[Mark]] ticket {order} as resolved, please.
        | My membership number {fake_card} isn't recognised.
        | Parcel ID {fake_card} shows as delivered, but it's not here.
        | The bank says IBAN {bad_iban} is invalid — is that the one on your invoice?
        | Invoice {invoice} from {date} shows {price}.
        | Can the [[Rotterdam]] warehouse ship {sku} by {date}? | Is ISBN {isbn} out of print?
        | Is the {product} compatible with the {product}?
        | The device reports version {build} after the update.
        | Firmware build {build} fixed the Wi-Fi drops for us.
  clean_reply: Order {order} shipped on {date}; tracking {tracking}.
        | Firmware {version} fixes that issue. | The {product} costs {price} right now.
        | [[Will]] do — I've flagged it for the team. | [[Hope]] that helps!
        | Yes, returns are accepted within 30 days of {date}.
        | Version {build} is the latest stable build.
        | That number fails the checksum, so it can't be a valid card or IBAN.
  products: Apple Watch | Galaxy Tab S9 | Visual Studio Code | Microsoft Teams | Google Sheets
        | Kindle Paperwhite | Raspberry Pi 5 | Surface Pro | Nintendo Switch | PlayStation 5
        | MacBook Air | ThinkPad X1 Carbon | Philips Hue Bridge | Dyson V15 | Echo Dot
        | Jira Service Management | Adobe Premiere Pro | Model Y | Pixel Buds Pro | Ford Mustang
        | Galaxy Watch | Fitbit Charge 6 | Sonos Era 100 | Instant Pot Duo
  identifiers: getUserEmail() | user_email | PersonName | validate_phone_number | CREDIT_CARD_REGEX
        | ibanField | ssn_last4 | parse_date_of_birth | AddressForm | password_hash
        | reset_password_token | MAX_RETRIES | billingAddressLine1 | fetch_customer_by_id
        | SessionTokenStore
  code_lines: def get_user_email(user_id: int) -> str:
        | def validate_password(password: str) -> bool: | api_key = os.environ["OPENAI_API_KEY"]
        | if not luhn_valid(card_number): | token = request.headers.get("Authorization")
        | SELECT email, phone FROM customers WHERE id = %s | class AddressForm(forms.Form):
        | password = getpass.getpass() | user.date_of_birth = parse_date(raw)
        | secret_key = settings.SECRET_KEY
  icd: E11.9 | I10 | J45.909 | M54.5 | K21.9 | F41.1 | N39.0 | R51.9 | J06.9
  complaint: chest pain for two days | persistent cough and mild fever
        | lower back pain after lifting | headache and dizziness | follow-up of type 2 diabetes
        | rash on both forearms
  med: metformin | lisinopril | ibuprofen | amoxicillin | atorvastatin | sertraline
  med_name: Patient: {name#p} | Pt: {name#p} | Name: {name#p} | PATIENT NAME: {name#p}
  med_dob: DOB: {dob#d} | D.O.B.: {dob#d} | Date of birth: {dob#d} | Born: {dob#d}
  med_more: Home address: {address} | Tel: {phone} | Emergency contact: {name} ({phone})
        | Email: {email} | SSN: {ssn}
  med_exam:
        Visit date: {date}\nChief complaint: {complaint#c}\nVitals: {bp}, HR {pulse}\nMeds: {med#m}
        {dose} daily\nAssessment: ICD-10 {icd}\nFollow-up: {date}
        | Seen {date} for {complaint#c}. {bp}. Plan: {med#m} {dose} BID, recheck {date}. ICD-10
        {icd}
  med_story:
        {name#p} (DOB {dob#d}) is a {age}-year-old seen on {date} for {complaint#c}. Lives at
        {address}; daughter {name} can be reached at {phone}. Started {med#m} {dose}. ICD-10 {icd}.
        | Ms. {name#p}, born {dob#d}, phone {phone}, presented on {date} with {complaint#c}; {bp}.
  med_ask: Summarize this note for the discharge letter: | Turn this into a referral letter:
        | Extract the medication list: | Explain this note to the patient in plain language:
  med_reply:
        Summary: {name#p} was seen with {complaint#c}. Continue {med#m} {dose}; review on {date}.
        | Dear colleague,\n\nI saw {name#p} (DOB {dob#d}) today with {complaint#c}. I would be
        grateful for your opinion.\n\nKind regards
        | Medications: {med#m} {dose}. No allergies recorded.
        | You came in because of {complaint#c}. Keep taking {med#m} and come back on {date}.
  legal_parties:
        This Lease Agreement (the "Agreement") is made on {date} between Northwind Properties Ltd.
        ("Landlord") and {name#t}, born {dob}, residing at {address} ("Tenant").
        | THIS AGREEMENT dated {date} is between Contoso GmbH and {name#t} (date of birth {dob}) of
        {address}.
  legal:
        4.2 Rent. The Tenant shall pay {price} per month to the Landlord's account {iban} no later
        than the third day of each month.
        | 7.1 Notices. All notices shall be sent to {email} or by registered mail to {address}.
        | Section 12.3 of the Master Services Agreement {version} applies; the [[Grace]] Period
        under Section [[4.2.1]] is fourteen days.
        | In {name} v. Contoso Inc., Case No. {case_no}, the court held that the clause was void.
        | The Guarantor, {name}, SSN {ssn}, guarantees all obligations of the Tenant.
        | The deposit of {price} may be paid by card {card}.
        | Either party may reach the other's counsel at {phone}.
  legal_ask: Rewrite this clause in plain English:
        | Check this lease excerpt for missing information:
        | Summarize the obligations in this contract:
  legal_reply: In plain English: {name#t} rents the flat from Northwind and pays {price} a month.
        | The excerpt names {name#t} as tenant but never states the deposit. Case {case_no} is not
        relevant here.
        | Obligations: pay {price} monthly, send notices in writing, and note the fourteen-day
        [[Grace]] Period.
  hr_field: Date of birth: {dob} | SSN: {ssn} | Personal email: {email} | Mobile: {phone}
        | Home address: {address} | Bank account (IBAN): {iban}
  hr_subject: Onboarding paperwork | Welcome aboard! | Payroll setup | Background check
  hr_email:
        Subject: {subject}\n\nHi {given},\n\nWelcome to Contoso! To finish your onboarding, please
        confirm these details by {date}:\n\n- Full name: {same}\nFIELDS\n\nYour laptop ({product})
        ships with image {version}.\n\nBest,\n{name}\nPeople Team
  hr_check: Looks good. One fix: say "by end of day on {date}". [[Will]] you cc payroll?
  hr_draft: Draft an onboarding email for {name#n}, personal email {email#e}, start date {date}.
  hr_drafted:
        Subject: Welcome aboard!\n\nHi {name#n},\n\nWe're glad you're joining on {date}. We'll send
        your contract to {email#e}.\n\nBest,\nPeople Team
  log: {ts} INFO  auth: login ok user={email} ip={ipv4} req_id={request_id}
        | {ts} WARN  auth: 5 failed logins for {email} from {ip#a}
        | {ts} ERROR api: upstream timeout client={ipv6} path=/v2/orders/{order}
        | {ts} DEBUG http: GET /healthz 200 1.2ms from {ipv4}
        | {ts} INFO  billing: charged {price} for invoice {invoice}
        | {ts} DEBUG http: Authorization: Bearer {bearer}
        | {ts} INFO  deploy: release {version} (commit {sha}) rolled out
        | {ts} ERROR db: connection failed: {cred_url}
        | {ts} INFO  app: started version {build} on {ipv4}:8080
        | {ts} WARN  sms: delivery failed to {phone}
        | {ts} INFO  geo: request from [{ipv6}]:443 user_agent="Mozilla/5.0"
        | {ts} ERROR payments: card {card} declined (do_not_honor)
  log_reply: There are repeated failed logins from {ip#a}; consider blocking it.
        | The upstream timeouts started after release {version}. Also, a credential was logged in
        plain text: rotate it.
        | Nothing critical: the health checks pass and version {build} is running.
  env: DATABASE_URL={cred_url} | OPENAI_API_KEY={openai} | STRIPE_SECRET_KEY={stripe}
        | GITHUB_TOKEN={github} | AWS_ACCESS_KEY_ID={aws_key} | AWS_SECRET_ACCESS_KEY={aws_secret}
        | SMTP_PASSWORD={password} | SESSION_SECRET={token} | SLACK_BOT_TOKEN={slack}
        | HF_TOKEN={huggingface} | ADMIN_EMAIL={email}
  env_clean: APP_VERSION={version} | LOG_LEVEL=info | MAX_RETRIES=3 | FEATURE_FLAGS=beta_checkout
  yaml: smtp:\n  host: smtp.mailgun.org\n  user: {email}\n  password: {password}
        | database:\n  url: {cred_url}\n  pool_size: 10
        | slack:\n  bot_token: {slack}\n  channel: "#alerts"
        | gitlab:\n  token: {gitlab}\n  project: infra/deploy | google:\n  maps_api_key: {google}
        | sendgrid:\n  api_key: {sendgrid}
  config_ask: Why doesn't my app pick up this config?
        | Convert this to environment variables for Kubernetes: | Is anything wrong with this file?
  config_reply:
        The file has no syntax errors. Note that you pasted live credentials: rotate them and load
        them from a secret store.
        | Set `LOG_LEVEL` before `APP_VERSION`; keys are read in order. Also [[Mark]] the secrets
        as sensitive. | Your config looks fine for version {version}.
  code_secret: client = OpenAI(api_key="{openai}") | stripe.api_key = "{stripe}"
        | headers = {"Authorization": "Bearer {bearer}"} | gh = Github("{github_pat}")
        | conn = psycopg.connect("{cred_url}") | GOOGLE_MAPS_KEY = "{google}"
        | curl -H "PRIVATE-TOKEN: {gitlab}" https://gitlab.com/api/v4/projects
        | const jwt = "{jwt}"; | npm config set //registry.npmjs.org/:_authToken {npm}
        | ANTHROPIC_API_KEY = "{anthropic}"
  code_reply:
        The key is hard-coded; read it from the environment instead: `{code}`. Rotate the key you
        pasted.
        | A 401 means the token was rejected. Check `{ident}` and upgrade the SDK to {version}.
  clean_code_reply:
        `{ident}` expects a string; `{code}` can return None. Pin the package to {version}.
        | Rename `{ident}` to avoid shadowing; then `{code}` works.
  notes: - Fixed a crash in `{ident}` | - SKU {sku} is discontinued; use {sku} instead
        | - Firmware build {build} for the {product} | - Price change: {price} -> {price}
        | - Closes {url}/{order}
  finance: Is {bad_iban} a valid IBAN? The bank rejected it.
        | Our test number {fake_card} fails validation. Is the check digit wrong?
        | Why is tracking number {tracking} flagged as a card number by our form?
        | Invoice {invoice}: the total should be {price}, not {price}.
de
  system: Du bist der Kundenservice-Assistent von Nordwind Versand.
  intro: Hallo, mein Name ist {name}. | Guten Tag, hier schreibt {name}.
        | Ich melde mich im Auftrag von {name}.
  phone: Sie erreichen mich unter {phone}. | Meine Handynummer lautet {phone}.
        | Rückruf bitte unter {phone}.
  email: Meine E-Mail-Adresse ist {email}. | Bitte schicken Sie die Rechnung an {email}.
  address: Meine neue Anschrift: {address}. | Bitte liefern Sie an {address}.
  dob: Mein Geburtsdatum: {dob}. | Ich bin am {dob} geboren. | (geb. {dob})
  pay: Bitte erstatten Sie den Betrag auf meine IBAN {iban}.
        | Ich habe mit der Karte {card} bezahlt.
  secret: Mein Passwort lautet {password}
  ask: Meine Bestellung {order} ist noch nicht angekommen.
        | Die Rechnung {invoice} vom {date} zeigt {price}.
        | Funktioniert das auch mit Version {version}?
        | Die Sendungsnummer {tracking} wird nicht gefunden.
  reply: Vielen Dank, {given}! Wir haben Ihre Daten aktualisiert.
        | Danke für Ihre Nachricht. Die Erstattung über {price} ist veranlasst.
        | Wir rufen Sie unter {phone} zurück.
  clean: Wann wird meine Bestellung {order} geliefert? | Gibt es den {product} auch in Schwarz?
        | Der Termin am {date} passt mir leider nicht. | Ist Firmware {version} schon verfügbar?
        | Können Sie mir die Rechnung {invoice} noch einmal schicken?
  clean_reply: Ihre Bestellung {order} wurde am {date} verschickt.
        | Version {version} erscheint nächste Woche. | Der Preis beträgt {price}.
fr
  system: Tu es l'assistant du service client de Boutique Lumière.
  intro: Bonjour, je m'appelle {name}. | Bonjour, ici {name}. | Je vous écris de la part de {name}.
  phone: Vous pouvez me joindre au {phone}. | Mon numéro de portable : {phone}
        | Rappelez-moi au {phone}, s'il vous plaît.
  email: Mon adresse e-mail est {email}. | Merci d'envoyer la facture à {email}.
  address: Ma nouvelle adresse : {address}. | Merci de livrer au {address}.
  dob: Ma date de naissance : {dob}. | Je suis né le {dob}. | Je suis née le {dob}.
  pay: Merci de rembourser sur mon IBAN {iban}. | J'ai payé avec la carte {card}.
  secret: Mon mot de passe : {password}
  ask: Ma commande {order} n'est toujours pas arrivée.
        | La facture {invoice} du {date} indique {price}.
        | Est-ce compatible avec la version {version} ?
        | Le numéro de suivi {tracking} est introuvable.
  reply: Merci, {given} ! Vos coordonnées sont à jour.
        | Le remboursement de {price} a été effectué. | Nous vous rappellerons au {phone}.
  clean: Quand ma commande {order} sera-t-elle livrée ? | Le {product} existe-t-il en noir ?
        | Le rendez-vous du {date} ne me convient pas.
        | La version {version} est-elle déjà disponible ?
  clean_reply: Votre commande {order} a été expédiée le {date}. | Le prix est de {price}.
es
  system: Eres el asistente de atención al cliente de Tienda Sol.
  intro: Hola, me llamo {name}. | Buenas tardes, soy {name}. | Le escribo en nombre de {name}.
  phone: Pueden llamarme al {phone}. | Mi móvil es el {phone}. | Mi teléfono: {phone}
  email: Mi correo es {email}. | Envíen la factura a {email}, por favor.
  address: Mi nueva dirección es {address}. | Por favor, envíenlo a {address}.
  dob: Mi fecha de nacimiento es {dob}. | Nací el {dob}. | Fecha de nacimiento: {dob}
  pay: Devuélvanme el importe a mi IBAN {iban}. | Pagué con la tarjeta {card}.
  secret: Mi contraseña es {password}
  ask: Mi pedido {order} todavía no ha llegado. | La factura {invoice} del {date} muestra {price}.
        | ¿Funciona con la versión {version}? | El número de seguimiento {tracking} no aparece.
  reply: ¡Gracias, {given}! Hemos actualizado sus datos.
        | El reembolso de {price} ya está en camino. | Le llamaremos al {phone}.
  clean: ¿Cuándo llegará mi pedido {order}? | ¿El {product} está disponible en negro?
        | La cita del {date} no me viene bien. | ¿Ya está disponible la versión {version}?
  clean_reply: Su pedido {order} salió el {date}. | El precio es {price}.
pt
  system: Você é o assistente de atendimento da Loja Brasa.
  intro: Olá, meu nome é {name}. | Boa tarde, aqui é {name}. | Escrevo em nome de {name}.
  phone: Meu celular é {phone}. | Pode me ligar no {phone}. | Telefone para contato: {phone}
  email: Meu e-mail é {email}. | Enviem a nota fiscal para {email}, por favor.
  address: Meu novo endereço é {address}. | Favor entregar em {address}.
  dob: Minha data de nascimento é {dob}. | Nasci em {dob}. | Data de nascimento: {dob}
  pay: Podem estornar para a conta {iban}. | Paguei com o cartão {card}.
  secret: Minha senha é {password}
  ask: Meu pedido {order} ainda não chegou. | A fatura {invoice} de {date} mostra {price}.
        | Funciona com a versão {version}? | O código de rastreio {tracking} não é encontrado.
  reply: Obrigado, {given}! Seus dados foram atualizados. | O estorno de {price} já foi solicitado.
        | Vamos ligar para {phone}.
  clean: Quando chega o meu pedido {order}? | O {product} tem na cor preta?
        | A consulta de {date} não vai dar para mim. | A versão {version} já está disponível?
  clean_reply: Seu pedido {order} foi enviado em {date}. | O preço é {price}.
it
  system: Sei l'assistente clienti di Negozio Girasole.
  intro: Buongiorno, mi chiamo {name}. | Salve, sono {name}. | Scrivo per conto di {name}.
  phone: Potete chiamarmi al {phone}. | Il mio cellulare è {phone}. | Telefono: {phone}
  email: La mia email è {email}. | Inviate la fattura a {email}, per favore.
  address: Il mio nuovo indirizzo è {address}. | Spedite a {address}, grazie.
  dob: La mia data di nascita è {dob}. | Sono nato il {dob}. | Sono nata il {dob}.
  pay: Rimborsate sul mio IBAN {iban}. | Ho pagato con la carta {card}.
  ask: Il mio ordine {order} non è ancora arrivato.
        | La fattura {invoice} del {date} riporta {price}. | Funziona con la versione {version}?
  reply: Grazie, {given}! Abbiamo aggiornato i suoi dati.
        | Il rimborso di {price} è stato disposto. | La richiameremo al {phone}.
  clean: Quando arriva il mio ordine {order}? | Il {product} è disponibile in nero?
        | L'appuntamento del {date} non mi va bene. | La versione {version} è già disponibile?
  clean_reply: Il suo ordine {order} è partito il {date}. | Il prezzo è {price}.
pl
  system: Jesteś asystentem obsługi klienta sklepu Bursztyn.
  intro: Dzień dobry, nazywam się {name}. | Witam, tu {name}. | Piszę w sprawie konta: {name}.
  phone: Mój numer telefonu to {phone}. | Proszę dzwonić pod numer {phone}.
  email: Mój e-mail: {email}. | Proszę wysłać fakturę na {email}.
  address: Mój nowy adres to {address}. | Proszę o wysyłkę na adres {address}.
  dob: Data urodzenia: {dob}. | Urodziłem się {dob}. | Urodziłam się {dob}.
  pay: Proszę o zwrot na konto {iban}. | Płaciłem kartą {card}.
  ask: Moje zamówienie {order} jeszcze nie dotarło.
        | Faktura {invoice} z dnia {date} opiewa na {price}. | Czy to działa z wersją {version}?
  reply: Dziękujemy, {given}! Dane zostały zaktualizowane. | Zwrot {price} został zlecony.
        | Oddzwonimy pod numer {phone}.
  clean: Kiedy dotrze moje zamówienie {order}? | Czy {product} jest dostępny w kolorze czarnym?
        | Termin {date} mi nie pasuje. | Czy wersja {version} jest już dostępna?
  clean_reply: Zamówienie {order} wysłaliśmy {date}. | Cena wynosi {price}.
nl
  system: Je bent de klantenservice-assistent van Tulp Webwinkel.
  intro: Hallo, mijn naam is {name}. | Goedemiddag, u spreekt met {name}.
        | Ik schrijf namens {name}.
  phone: U kunt mij bereiken op {phone}. | Mijn mobiele nummer is {phone}.
  email: Mijn e-mailadres is {email}. | Stuur de factuur naar {email}.
  address: Mijn nieuwe adres is {address}. | Graag bezorgen op {address}.
  dob: Mijn geboortedatum is {dob}. | Ik ben geboren op {dob}.
  pay: Graag terugstorten op {iban}. | Ik heb betaald met kaart {card}.
  ask: Mijn bestelling {order} is nog niet aangekomen.
        | Factuur {invoice} van {date} vermeldt {price}. | Werkt dit met versie {version}?
  reply: Bedankt, {given}! Uw gegevens zijn bijgewerkt. | De terugbetaling van {price} is onderweg.
        | We bellen u terug op {phone}.
  clean: Wanneer wordt bestelling {order} bezorgd? | Is de {product} ook in het zwart verkrijgbaar?
        | De afspraak op {date} komt mij niet uit. | Is versie {version} al beschikbaar?
  clean_reply: Bestelling {order} is op {date} verzonden. | De prijs is {price}.
ru
  system: Ты — ассистент службы поддержки интернет-магазина «Берёзка».
  intro: Здравствуйте, меня зовут {name}. | Добрый день, это {name}.
        | Пишу от имени клиента: {name}.
  phone: Мой телефон: {phone}. | Перезвоните мне, пожалуйста, по номеру {phone}.
        | Мобильный: {phone}
  email: Моя почта — {email}. | Пришлите счёт на {email}, пожалуйста.
  address: Мой новый адрес: {address}. | Доставьте, пожалуйста, по адресу: {address}.
  dob: Дата рождения: {dob}. | Я родился {dob} года. | Я родилась {dob} года.
  pay: Верните деньги на карту {card}. | Реквизиты для возврата: IBAN {iban}.
  secret: Мой пароль: {password}
  ask: Мой заказ {order} до сих пор не пришёл. | В счёте {invoice} от {date} указано {price}.
        | Это работает с версией {version}? | Трек-номер {tracking} не отслеживается.
  reply: Спасибо, {given}! Мы обновили ваши данные. | Возврат {price} оформлен.
        | Мы перезвоним вам по номеру {phone}.
  clean: Когда придёт мой заказ {order}? | Есть ли {product} в чёрном цвете?
        | Запись на {date} мне не подходит. | Версия {version} уже доступна?
        | Подскажите, пожалуйста, сроки доставки в Новосибирск.
  clean_reply: Заказ {order} отправлен {date}. | Цена — {price}.
el
  system: Είσαι ο βοηθός εξυπηρέτησης πελατών του καταστήματος Ελιά.
  intro: Γεια σας, ονομάζομαι {name}. | Καλημέρα, εδώ {name}. | Γράφω για λογαριασμό: {name}.
  phone: Το τηλέφωνό μου είναι {phone}. | Καλέστε με στο {phone}.
  email: Το email μου είναι {email}. | Στείλτε το τιμολόγιο στο {email}.
  address: Η νέα μου διεύθυνση είναι {address}. | Παρακαλώ στείλτε το στη διεύθυνση {address}.
  dob: Ημερομηνία γέννησης: {dob}. | Γεννήθηκα στις {dob}.
  pay: Επιστρέψτε τα χρήματα στο IBAN {iban}. | Πλήρωσα με την κάρτα {card}.
  ask: Η παραγγελία μου {order} δεν έχει φτάσει ακόμα.
        | Το τιμολόγιο {invoice} της {date} γράφει {price}. | Λειτουργεί με την έκδοση {version};
  reply: Ευχαριστούμε, {given}! Τα στοιχεία σας ενημερώθηκαν. | Η επιστροφή {price} ολοκληρώθηκε.
        | Θα σας καλέσουμε στο {phone}.
  clean: Πότε θα φτάσει η παραγγελία {order}; | Υπάρχει το {product} σε μαύρο χρώμα;
        | Το ραντεβού της {date} δεν με βολεύει. | Είναι διαθέσιμη η έκδοση {version};
  clean_reply: Η παραγγελία {order} στάλθηκε στις {date}. | Η τιμή είναι {price}.
ar
  system: أنت مساعد خدمة العملاء في متجر النخيل.
  intro: مرحباً، اسمي {name}. | السلام عليكم، معك {name}. | أكتب نيابة عن {name}.
  phone: رقم جوالي {phone}. | يمكنكم الاتصال بي على {phone}.
  email: بريدي الإلكتروني هو {email}. | أرسلوا الفاتورة إلى {email} من فضلكم.
  address: عنواني الجديد: {address}. | يرجى التوصيل إلى {address}.
  dob: تاريخ الميلاد: {dob}. | ولدت في {dob}.
  pay: أرجو إعادة المبلغ إلى الآيبان {iban}. | دفعت بالبطاقة {card}.
  ask: طلبي رقم {order} لم يصل بعد. | الفاتورة {invoice} بتاريخ {date} تظهر مبلغ {price}.
        | هل يعمل مع الإصدار {version}؟
  reply: شكراً يا {given}! تم تحديث بياناتك. | تم استرداد مبلغ {price}. | سنتصل بك على {phone}.
  clean: متى سيصل طلبي {order}؟ | هل يتوفر {product} باللون الأسود؟ | موعد {date} لا يناسبني.
        | هل الإصدار {version} متاح الآن؟
  clean_reply: تم شحن الطلب {order} بتاريخ {date}. | السعر {price}.
he
  system: אתה העוזר של שירות הלקוחות בחנות רימון.
  intro: שלום, שמי {name}. | היי, כאן {name}. | אני כותב בשם {name}.
  phone: הטלפון שלי: {phone}. | אפשר להתקשר אליי למספר {phone}.
  email: המייל שלי הוא {email}. | נא לשלוח את החשבונית ל-{email}.
  address: הכתובת החדשה שלי: {address}. | נא לשלוח לכתובת: {address}.
  dob: תאריך לידה: {dob}. | נולדתי ב-{dob}.
  pay: נא להחזיר את הכסף לחשבון IBAN {iban}. | שילמתי בכרטיס {card}.
  ask: ההזמנה שלי {order} עדיין לא הגיעה. | בחשבונית {invoice} מתאריך {date} מופיע {price}.
        | זה עובד עם גרסה {version}?
  reply: תודה, {given}! עדכנו את הפרטים שלך. | ההחזר של {price} בוצע. | נחזור אליך למספר {phone}.
  clean: מתי תגיע ההזמנה {order}? | יש את {product} בשחור? | התור ב-{date} לא מתאים לי.
        | האם גרסה {version} כבר זמינה?
  clean_reply: ההזמנה {order} נשלחה ב-{date}. | המחיר הוא {price}.
zh
  system: 你是星河商城的客服助手。
  intro: 您好，我叫{name}。 | 你好，我是{name}。 | 我替{name}咨询一下。
  phone: 我的手机号是{phone}。 | 请打{phone}联系我。 | 联系电话：{phone}。
  email: 我的邮箱是{email}。 | 发票请发到{email}。
  address: 我的新地址是{address}。 | 请寄到{address}。
  dob: 出生日期：{dob}。 | 我的生日是{dob}。
  pay: 请退款到卡号{card}。 | 我的IBAN是{iban}。
  secret: 我的密码是{password}。
  ask: 我的订单{order}还没到。 | 发票{invoice}（{date}）显示金额{price}。
        | 这个支持{version}版本吗？ | 快递单号{tracking}查不到。
  reply: 谢谢，{given}！您的信息已更新。 | 退款{price}已经处理。 | 我们会打{phone}联系您。
  clean: 我的订单{order}什么时候发货？ | {product}有黑色的吗？ | {date}的预约我去不了。
        | {version}版本已经上线了吗？ | 明天能发货吗？请尽快处理。
  clean_reply: 订单{order}已于{date}发货。 | 价格是{price}。
ja
  system: あなたは富士屋のカスタマーサポート担当です。
  intro: こんにちは、{name}と申します。 | お世話になっております。{name}です。
        | {name}の代理で問い合わせます。
  phone: 電話番号は{phone}です。 | {phone}までご連絡ください。 | 携帯：{phone}。
  email: メールアドレスは{email}です。 | 請求書は{email}に送ってください。
  address: 新しい住所は{address}です。 | {address}に送ってください。
  dob: 生年月日：{dob}。 | 生年月日は{dob}です。
  pay: カード番号は{card}です。 | 返金は口座{iban}にお願いします。
  secret: パスワードは{password}です。
  ask: 注文番号{order}がまだ届きません。
        | 請求書{invoice}（{date}付）の金額が{price}になっています。
        | バージョン{version}に対応していますか？ | 追跡番号{tracking}が見つかりません。
  reply: {same}様、ありがとうございます。情報を更新しました。 | {price}の返金手続きが完了しました。
        | {phone}にお電話いたします。
  clean: 注文{order}はいつ届きますか？ | {product}の黒はありますか？
        | {date}の予約に行けなくなりました。 | バージョン{version}はもう公開されていますか？
        | 明日までに発送していただけますか。
  clean_reply: ご注文{order}は{date}に発送しました。 | 価格は{price}です。
ko
  system: 당신은 하늘마켓의 고객 상담 도우미입니다.
  intro: 안녕하세요, {name}입니다. | 저는 {name}라고 합니다. | {name} 님 대신 문의드립니다.
  phone: 제 전화번호는 {phone}입니다. | {phone}로 연락 주세요.
  email: 이메일은 {email}입니다. | 영수증은 {email}로 보내 주세요.
  address: 새 주소는 {address}입니다. | {address}로 배송해 주세요.
  dob: 생년월일: {dob} | 제 생년월일은 {dob}입니다.
  pay: 카드 번호는 {card}입니다. | 환불은 {iban} 계좌로 부탁드립니다.
  secret: 비밀번호는 {password} 입니다
  ask: 주문번호 {order}가 아직 도착하지 않았어요.
        | 청구서 {invoice}({date})에 {price}로 나와 있어요. | 버전 {version}에서도 작동하나요?
        | 운송장 번호 {tracking}가 조회되지 않아요.
  reply: {same} 님, 감사합니다. 정보가 업데이트되었습니다. | {price} 환불이 완료되었습니다.
        | {phone}로 연락드리겠습니다.
  clean: 주문 {order}은 언제 도착하나요? | {product} 검은색 있나요?
        | {date} 예약은 못 갈 것 같아요. | 버전 {version}은 이미 출시되었나요?
        | 내일까지 배송 가능할까요?
  clean_reply: 주문 {order}은 {date}에 발송되었습니다. | 가격은 {price}입니다.
hi
  system: आप सितारा स्टोर के ग्राहक सहायता सहायक हैं।
  intro: नमस्ते, मेरा नाम {name} है। | नमस्कार, मैं {name} बोल रहा हूँ।
        | मैं {name} की ओर से लिख रही हूँ।
  phone: मेरा मोबाइल नंबर {phone} है। | कृपया मुझे {phone} पर कॉल करें।
  email: मेरा ईमेल {email} है। | कृपया बिल {email} पर भेजें।
  address: मेरा नया पता है: {address}। | कृपया {address} पर डिलीवर करें।
  dob: जन्म तिथि: {dob} | मेरी जन्म तिथि {dob} है।
  pay: मैंने कार्ड {card} से भुगतान किया था। | रिफंड मेरे खाते {iban} में भेजें।
  ask: मेरा ऑर्डर {order} अभी तक नहीं आया। | इनवॉइस {invoice} ({date}) में {price} लिखा है।
        | क्या यह वर्ज़न {version} के साथ काम करता है?
  reply: धन्यवाद, {given} जी! आपकी जानकारी अपडेट कर दी गई है। | {price} का रिफंड कर दिया गया है।
        | हम आपको {phone} पर कॉल करेंगे।
  clean: मेरा ऑर्डर {order} कब तक आएगा? | क्या {product} काले रंग में उपलब्ध है?
        | {date} की अपॉइंटमेंट मेरे लिए ठीक नहीं है। | क्या वर्ज़न {version} उपलब्ध है?
  clean_reply: ऑर्डर {order} {date} को भेज दिया गया है। | कीमत {price} है।
th
  system: คุณคือผู้ช่วยฝ่ายบริการลูกค้าของร้านมะลิ
  intro: สวัสดีครับ ผมชื่อ{name} | สวัสดีค่ะ ดิฉัน{name}ค่ะ | ติดต่อแทนคุณ{name}ครับ
  phone: เบอร์โทรของผมคือ {phone} | ติดต่อได้ที่เบอร์ {phone} ค่ะ
  email: อีเมลของผมคือ {email} | ส่งใบเสร็จไปที่ {email} ได้เลยค่ะ
  address: ที่อยู่ใหม่คือ {address} | กรุณาส่งของไปที่ {address} ครับ
  dob: วันเกิด {dob} | ผมเกิดวันที่ {dob}
  pay: ผมจ่ายด้วยบัตร {card} | โอนเงินคืนเข้าบัญชี {iban} ได้เลยค่ะ
  ask: คำสั่งซื้อ {order} ยังไม่ได้รับของเลยครับ
        | ใบแจ้งหนี้ {invoice} วันที่ {date} แสดงยอด {price} | ใช้กับเวอร์ชัน {version} ได้ไหมคะ
  reply: ขอบคุณค่ะ คุณ{given} เราอัปเดตข้อมูลให้แล้ว | คืนเงิน {price} เรียบร้อยแล้วครับ
        | เราจะติดต่อกลับที่เบอร์ {phone} ค่ะ
  clean: คำสั่งซื้อ {order} จะส่งถึงเมื่อไหร่ครับ | {product} มีสีดำไหมคะ
        | นัดวันที่ {date} ผมไปไม่ได้ครับ | เวอร์ชัน {version} ออกแล้วหรือยังคะ
        | พรุ่งนี้ส่งของได้ไหมครับ
  clean_reply: คำสั่งซื้อ {order} จัดส่งแล้วเมื่อ {date} | ราคา {price} ค่ะ
"""


def _packs(text: str) -> dict[str, dict[str, list[str]]]:
    packs: dict[str, dict[str, list[str]]] = {}
    for line in _plan(text):
        if not line.startswith(" "):
            lang = packs.setdefault(line, {})
        else:
            key, sentences = line.strip().split(": ", 1)
            lang[key] = [x.replace("\\n", "\n") for x in sentences.split(" | ")]
    return packs


PACKS = _packs(PACKS_TEXT)


# --- templates with PII --------------------------------------------------------------------------
EN = PACKS["en"]


def _join(w: Writer, sentences: list[str]) -> str:
    return ("" if w.lang in ("zh", "ja") else " ").join(sentences)


def _some(w: Writer, pool: str, lo: int, hi: int) -> list[str]:
    return w.rng.sample(EN[pool], w.rng.randint(lo, hi))


def t_support(w: Writer) -> None:
    """An English support chat: who, how to reach them, what went wrong; names from any script."""
    rng, roll = w.rng, w.rng.random()
    if roll < 0.6:
        w.say("system", w.pick(EN["system_pii" if roll < 0.25 else "system"]))
    pools = rng.sample(["contact", "address", "payment", "identity", "secret"], k=rng.randint(1, 3))
    body = [w.pick(EN[p]) for p in pools] + _some(w, "problem", 0, 2)
    rng.shuffle(body)
    if rng.random() < 0.7:
        body.insert(0, w.pick(EN["intro"]))
    if rng.random() < 0.4:
        body.append(w.pick(EN["closing"]))
    w.say("user", rng.choice([" ", " ", "\n"]).join(body))
    w.say("assistant", " ".join(_some(w, "reply", 1, 2)))
    if rng.random() < 0.4:
        w.say("user", w.pick(EN["problem"] + EN["contact"]))
        w.say("assistant", w.pick(EN["clean_reply"]))


def t_local(w: Writer) -> None:
    """A support chat in one of 16 languages, with that language's names, numbers and places."""
    pack, rng = PACKS[w.lang], w.rng
    if rng.random() < 0.5:
        w.say("system", w.pick(pack["system"]))
    keys = [k for k in ("phone", "email", "address", "dob", "pay", "secret") if k in pack]
    body = [w.pick(pack[k]) for k in rng.sample(keys, k=rng.randint(1, 3))]
    body += [w.pick(pack["ask"])] if rng.random() < 0.4 else []
    rng.shuffle(body)
    w.say("user", _join(w, [w.pick(pack["intro"]), *body]))
    w.say("assistant", w.pick(pack["reply"]))
    if rng.random() < 0.3:
        w.say("user", w.pick(pack["ask"] + pack["phone"]))
        w.say("assistant", w.pick(pack["clean_reply"]))


PLACES = {  # slot: what the user calls it
    "email": "email",
    "phone": "phone number",
    "world_phone": "number",
    "card": "card number",
    "iban": "IBAN",
    "ip": "IP address",
    "ssn": "SSN",
    "apikey": "API key",
    "jwt": "session token",
    "password": "password",
    "token": "access token",
    "cred_url": "connection string",
    "name": "name",
    "address": "address",
    "dob": "date of birth",
}
PLACEMENTS = {
    "start": [
        "{v} is my {noun}.",
        "{v} — that's the {noun} on file.",
        "{v} (my {noun}, keep it private)",
    ],
    "middle": [
        "Please use {v} as my {noun} from now on.",
        "I think the {noun} {v} is outdated in your system.",
        "Could you check whether {v} is the {noun} you have?",
    ],
    "end": ["My {noun}: {v}", "Here's the {noun} you asked for: {v}", "Updated {noun} is {v}"],
    # a password or a bare hex token is told apart by the cue before it, so it goes after one
    "cue_first": ["My {noun}: {v}", "{noun}={v}", "I think the {noun} {v} is outdated."],
}


def t_placement(w: Writer) -> None:
    """One value at the start, middle or end of a message, alone, or in the system prompt."""
    rng = w.rng
    slot = rng.choice([*PLACES, "name", "address", "name"])
    v, noun = "{" + slot + "}", PLACES[slot]
    where = rng.choice(["start", "middle", "end", "alone", "system"])
    where = "cue_first" if slot in ("password", "token") and where != "system" else where
    where = "end" if slot in ("dob", "ssn") and where == "alone" else where  # no cue, no telling
    if where == "system":
        w.say("system", f"You are a helpful assistant. The user's {noun} is {v}. Never repeat it.")
        w.say("user", w.pick(EN["clean"]))
        w.say("assistant", w.pick(EN["clean_reply"]))
        return
    if where == "alone":
        w.say("assistant", f"Sure. What {noun} should I put on the account?")
        w.say("user", v)
    else:
        w.say("user", rng.choice(PLACEMENTS[where]).replace("{v}", v).replace("{noun}", noun))
    w.say("assistant", rng.choice(["Thanks, noted.", "Got it, I've updated it.", "Thank you!"]))


def t_extract(w: Writer) -> None:
    """The assistant answers in JSON: the values move from the user's text into it."""
    pack, keys = PACKS[w.lang], w.rng.sample(["phone", "email", "address", "dob"], 2)
    keyed = [re.sub(r"\{(\w+)\}", r"{\1#x}", w.pick(pack[k])) for k in ["intro", *keys]]
    ask = "\n\nExtract the contact details as JSON."
    w.say("user", _join(w, keyed) + ask, json_safe=True)
    w.say_json("assistant", {"name": "{name#x}", **{k: "{" + k + "#x}" for k in keys}})


def t_medical(w: Writer) -> None:
    if w.rng.random() < 0.3:
        note = w.pick(EN["med_story"])
    else:
        lines = [w.pick(EN["med_name"]), w.pick(EN["med_dob"]), *_some(w, "med_more", 1, 3)]
        note = "\n".join([*lines, w.pick(EN["med_exam"])])
    w.say("user", f"{w.pick(EN['med_ask'])}\n\n{note}")
    w.say("assistant", w.pick(EN["med_reply"]))


def t_legal(w: Writer) -> None:
    clauses = [w.pick(EN["legal_parties"]), *_some(w, "legal", 1, 3)]
    w.say("user", w.pick(EN["legal_ask"]) + "\n\n" + "\n\n".join(clauses))
    w.say("assistant", w.pick(EN["legal_reply"]))


def t_hr(w: Writer) -> None:
    if w.rng.random() < 0.5:
        fields = "\n".join(f"- {f}" for f in _some(w, "hr_field", 2, 5))
        w.say(
            "user",
            "Proofread this email before I send it:\n\n"
            + w.pick(EN["hr_email"]).replace("FIELDS", fields),
        )
        w.say("assistant", w.pick(EN["hr_check"]))
    else:
        w.say("user", w.pick(EN["hr_draft"]))
        w.say("assistant", w.pick(EN["hr_drafted"]))


def t_logs(w: Writer) -> None:
    w.say(
        "user", "What's going on in these logs?\n```\n" + "\n".join(_some(w, "log", 3, 7)) + "\n```"
    )
    w.say("assistant", w.pick(EN["log_reply"]))


def t_config(w: Writer) -> None:
    rng = w.rng
    if rng.random() < 0.6:
        lines = _some(w, "env", 2, 5) + _some(w, "env_clean", 2, 2)
        rng.shuffle(lines)
        snippet = "# .env\n" + "\n".join(lines)
    else:
        snippet = "# config.yaml\n" + "\n".join(_some(w, "yaml", 1, 3))
    w.say("user", f"{w.pick(EN['config_ask'])}\n\n{snippet}")
    w.say("assistant", w.pick(EN["config_reply"]))


def t_code(w: Writer) -> None:
    lines = _some(w, "code_secret", 1, 2) + ["{code}", "{code}"]
    w.rng.shuffle(lines)
    if w.rng.random() < 0.2:
        lines.append('PRIVATE_KEY = """{pem}"""')
    w.say("user", "Why does this return 401?\n```python\n" + "\n".join(lines) + "\n```")
    w.say("assistant", w.pick(EN["code_reply"]))


def _tool_lookup(w: Writer) -> None:
    pack = PACKS[w.lang]
    key = w.pick(["email", "phone"])
    ask = w.pick(pack["intro"]) + (" " if w.lang not in ("zh", "ja") else "")
    w.say("user", ask + w.pick(pack[key]).replace("{" + key + "}", "{" + key + "#c}"))
    w.call("lookup_customer", {key: "{" + key + "#c}"})
    record = {
        "customer_id": "{cust}",
        "name": "{same}",
        "email": "{email#c}",
        "phone": "{phone#c}",
        "address": "{address}",
        "orders": [
            {"id": "{order#o}", "total": "{price}", "status": "shipped", "tracking": "{tracking}"}
        ],
    }
    if w.rng.random() < 0.4:
        record["date_of_birth"] = "{dob}"
    w.tool(record)
    w.say("assistant", w.pick(pack["reply"]) + " ({order#o})")


def _tool_email(w: Writer) -> None:
    w.say("user", "Please email {name} at {email#e} that contract {invoice#i} is ready to sign.")
    body = "Dear {same}, your contract {invoice#i} is ready. Questions? Call us on {phone}."
    w.call(
        "send_email",
        {"to": "{email#e}", "subject": "Contract {invoice#i}", "body": body},
        "Sending it now.",
    )
    w.tool({"status": "sent", "message_id": "msg_{sha}"})
    w.say("assistant", "Done: the email to {email#e} was sent.")


def _tool_ticket(w: Writer) -> None:
    w.say(
        "user",
        "Open a ticket: {name} ({phone#p}) says the {product} reboots after firmware {build}.",
    )
    args = {
        "customer": "{same}",
        "phone": "{phone#p}",
        "summary": "Reboots after firmware {build}",
        "priority": "high",
    }
    w.call("create_ticket", args)
    w.tool({"ticket": "{order#t}", "status": "open"})
    w.say("assistant", "Ticket {order#t} is open.")


def _tool_charge(w: Writer) -> None:
    w.say("user", "Charge my card {card#c} for the {price} upgrade, please.")
    w.call(
        "charge_card",
        {"card_number": "{card#c}", "amount": 49.9, "currency": "EUR", "sku": "{sku}"},
    )
    w.tool({"ok": True, "receipt": "{invoice}"})
    w.say("assistant", "The payment went through.")


def _tool_bank(w: Writer) -> None:
    w.say("user", "Update my payout account to {world_iban#b}. The holder is {name}.")
    w.call("update_payout_account", {"iban": "{world_iban#b}", "holder": "{same}"})
    w.tool({"updated": True, "effective": "{date}"})
    w.say("assistant", "Your payout account is updated from {date}.")


def _tool_sql(w: Writer) -> None:
    w.say("user", "Which orders does {email#e} have?")
    w.call("run_sql", {"query": "SELECT id, status, last_ip FROM orders WHERE email = '{email#e}'"})
    w.tool(
        {
            "rows": [
                {"id": "{order}", "status": "delivered", "last_ip": "{ip}"},
                {"id": "{order}", "status": "open"},
            ]
        }
    )
    w.say("assistant", "There are two orders; one is still open.")


def _tool_ip(w: Writer) -> None:
    w.say("user", "Where did this login come from? {ip#i}")
    w.call("geolocate_ip", {"ip": "{ip#i}"})
    w.tool({"ip": "{ip#i}", "country": "DE", "city": "Frankfurt am Main", "asn": "AS3320"})
    w.say("assistant", "The address {ip#i} is in Frankfurt, Germany.")


def _tool_deploy(w: Writer) -> None:
    w.say("user", "Deploy billing with the new Stripe key {stripe#s}.")
    env = {
        "STRIPE_SECRET_KEY": "{stripe#s}",
        "DATABASE_URL": "{cred_url}",
        "APP_VERSION": "{version}",
    }
    w.call("deploy_service", {"service": "billing", "env": env})
    w.tool({"deployed": True, "version": "{version}", "url": "{url}"})
    w.say("assistant", "Billing is deployed.")


def _tool_appointment(w: Writer) -> None:
    w.say("user", "Book a check-up for {name#p}, born {dob#d}, phone {phone}, on {date#a}.")
    args = {"patient": "{name#p}", "dob": "{dob#d}", "phone": "{phone}", "date": "{date#a}"}
    w.call("book_appointment", args)
    w.tool({"confirmation": "{order}", "date": "{date#a}", "clinic": "Northside Health"})
    w.say("assistant", "Booked for {date#a}.")


def _tool_identity(w: Writer) -> None:
    w.say("user", "Verify the new hire: {name#h}, SSN {ssn#s}, DOB {dob#d}.")
    w.call("verify_identity", {"name": "{name#h}", "ssn": "{ssn#s}", "date_of_birth": "{dob#d}"})
    w.tool({"match": True, "score": 0.97, "checked": "{ts}"})
    w.say("assistant", "Identity verified.")


def _tool_secret(w: Writer) -> None:
    w.say("user", "Store this token in the vault: {apikey#k}")
    w.call(
        "vault_put", {"path": "secret/ci/token", "value": "{apikey#k}", "password": "{password}"}
    )
    w.tool({"stored": True, "version": 3})
    w.say("assistant", "Stored. You can delete the message with the token now.")


TOOL_FLOWS = [
    _tool_lookup,
    _tool_lookup,
    _tool_email,
    _tool_ticket,
    _tool_charge,
    _tool_bank,
    _tool_sql,
    _tool_ip,
    _tool_deploy,
    _tool_appointment,
    _tool_identity,
    _tool_secret,
]


def t_tool(w: Writer) -> None:
    """An assistant calls a tool: PII in ``arguments`` and in the JSON the tool returns."""
    flow = w.pick(TOOL_FLOWS)
    if flow is not _tool_lookup:
        w.lang = "en"
    if w.rng.random() < 0.3:
        w.say("system", w.pick(PACKS["en"]["system"]))
    flow(w)


# --- templates without PII -----------------------------------------------------------------------


def c_support(w: Writer) -> None:
    if w.rng.random() < 0.5:
        w.say("system", w.pick(EN["system"]))
    w.say("user", " ".join(_some(w, "clean", 1, 3)))
    w.say("assistant", " ".join(_some(w, "clean_reply", 1, 2)))
    if w.rng.random() < 0.3:
        w.say("user", w.pick(EN["clean"]))
        w.say("assistant", w.pick(EN["clean_reply"]))


def c_local(w: Writer) -> None:
    """Ordinary sentences in another language: every word must survive, in every script."""
    pack = PACKS[w.lang]
    if w.rng.random() < 0.5:
        w.say("system", w.pick(pack["system"]))
    sentences = []
    for template in w.rng.sample(pack["clean"], w.rng.randint(1, 3)):
        sentences.append(w.fill(template))
        w.keep("sentence", sentences[-1])
    w.say("user", _join(w, sentences))
    w.say("assistant", w.pick(pack["clean_reply"]))


def c_code(w: Writer) -> None:
    lines = "\n".join(["{code}"] * w.rng.randint(2, 4))
    w.say("user", f"Why does `{{ident}}` fail on Python {{version}}?\n```python\n{lines}\n```")
    w.say("assistant", w.pick(EN["clean_code_reply"]))


def c_notes(w: Writer) -> None:
    notes = ["Release {version} ({date})", *_some(w, "notes", 2, 4)]
    w.say("user", "Summarize these release notes:\n\n" + "\n".join(notes))
    w.say(
        "assistant",
        "Version {version} fixes `{ident}` and ships build {build}. [[Hope]] that helps.",
    )


def c_finance(w: Writer) -> None:
    w.say("user", w.pick(EN["finance"]))
    w.say("assistant", "The checksum doesn't match, so it is not valid. [[Will]] you re-enter it?")


def c_tool(w: Writer) -> None:
    flow = w.rng.randrange(3)
    if flow == 0:
        w.say("user", "Where is order {order#o}?")
        w.call("get_order_status", {"order_id": "{order#o}"})
        w.tool(
            {
                "order_id": "{order#o}",
                "status": "in_transit",
                "tracking": "{tracking}",
                "eta": "{date}",
            }
        )
        w.say("assistant", "Order {order#o} is in transit.")
    elif flow == 1:
        w.say("user", "Do you have {sku#s} in stock?")
        w.call("check_stock", {"sku": "{sku#s}"})
        w.tool({"sku": "{sku#s}", "in_stock": w.rng.randrange(0, 40), "price": "{price}"})
        w.say("assistant", "Yes, {sku#s} is in stock.")
    else:
        w.say("user", "What's the weather in [[Berlin]] tomorrow?")
        w.call("get_weather", {"city": "[[Berlin]]", "unit": "celsius"})
        w.tool({"temp_c": 21.5, "conditions": "cloudy", "updated": "{ts}"})
        w.say("assistant", "Cloudy, around 21 °C.")


# --- the corpus ----------------------------------------------------------------------------------
PII_TEMPLATES = [
    (t_support, 20),
    (t_local, 30),
    (t_placement, 14),
    (t_medical, 6),
    (t_legal, 5),
    (t_hr, 5),
    (t_logs, 6),
    (t_config, 5),
    (t_code, 4),
    (t_tool, 15),
    (t_extract, 5),
]
CLEAN_TEMPLATES = [
    (c_support, 25),
    (c_local, 30),
    (c_code, 12),
    (c_notes, 8),
    (c_finance, 10),
    (c_tool, 15),
]
LOCAL_WEIGHTS = {lang: (2 if LANGS[lang][0] == "latin" else 3) for lang in PACKS if lang != "en"}


def make_case(seed: int, i: int, *, pii_free_share: float = 0.25) -> Case:
    rng = random.Random(f"{seed}:{i}")
    clean = rng.random() < pii_free_share
    table = CLEAN_TEMPLATES if clean else PII_TEMPLATES
    template = rng.choices([t for t, _ in table], [weight for _, weight in table])[0]
    lang = "en"
    if template in (t_local, c_local, t_tool, t_extract):
        lang = rng.choices(list(LOCAL_WEIGHTS), list(LOCAL_WEIGHTS.values()))[0]
    w = Writer(rng, lang)
    template(w)
    case = w.case(template.__name__)
    assert case.pii_free == clean, template.__name__
    return case


def make_corpus(n: int = 2400, seed: int = 0) -> list[Case]:
    return [make_case(seed, i) for i in range(n)]


def to_jsonl(cases: list[Case]) -> str:
    return "".join(json.dumps(c.record, ensure_ascii=False) + "\n" for c in cases)
