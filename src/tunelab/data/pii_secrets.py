"""Secrets in text, in the spirit of gitleaks and detect-secrets: API keys with known prefixes,
JWTs, PEM private keys, bearer tokens, passwords in ``key=value`` / ``password: ...`` form and
high-entropy tokens.

``find_secrets`` yields ``(kind, start, end)`` where kind is ``"SECRET"`` for a value whose shape
proves it (a prefix, a PEM block), ``"SECRET_ASSIGNED"`` for the value after a password or key
name, and ``"SECRET_ENTROPY"`` for a random-looking token; ``privacy`` ranks them in that order
when spans overlap, and reports all three as ``SECRET``. For an assignment only the value is
the span, so ``password=<SECRET_1>`` still reads as what it was.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

Span = tuple[str, int, int]

KNOWN = re.compile(
    r"(?:"
    r"sk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}"
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}"
    r"|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
    r"|pypi-[A-Za-z0-9_-]{50,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
    r"|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|dop_v1_[a-f0-9]{64}|sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}"
    r"|EAA[A-Za-z0-9]{30,}|SK[0-9a-f]{32}|AGE-SECRET-KEY-1[0-9A-Z]{58}|r8_[A-Za-z0-9]{30,}"
    r"|gsk_[A-Za-z0-9]{40,}|xai-[A-Za-z0-9]{40,}|nvapi-[A-Za-z0-9_-]{40,}|lin_api_[A-Za-z0-9]{30,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"
    r"|https://discord(?:app)?\.com/api/webhooks/\d+/[\w-]+"
    r")"
)
PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END (?:[A-Z0-9]+ )*"
    r"PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*)",
    re.S,
)
BEARER = re.compile(r"(?i)\b(?:bearer|basic|token)\s+([A-Za-z0-9._~+/=-]{16,})")
# A password or key name, then ":" / "=" / "is", then the value. The name must end with the
# keyword ("DB_PASSWORD", "api_key"), so "max_tokens=512" and "tokenizer:" are not secrets.
_NAME = (
    r"(?:[A-Za-z0-9]+[_.-])*(?:pass(?:word|wd|phrase|code)?|pwd|secret|token|"
    r"(?:api|secret|access|private|encryption|signing|master|auth|app|client|license|"
    r"subscription)[_-]?key|apikey|credentials?|client[_-]?secret|api[_-]?secret)"
)
_PROSE_NAME = (
    r"api key|access key|secret key|private key|access token|auth token|api token|"
    r"bearer token|pin code|mot de passe|passwort|kennwort|contraseña|clave|senha|"
    r"wachtwoord|hasło|haslo|şifre|parola|salasana|lösenord|passord|adgangskode|пароль|"
    r"κωδικός|סיסמה|סיסמא|كلمة المرور|كلمة السر|पासवर्ड"
)
ASSIGNED = re.compile(
    rf"(?i)(?:{_NAME}|{_PROSE_NAME})[\"']?([ \t]*(?:[:=：]|:=|=>|->)[ \t]*|[ \t]+(?:is|was|"
    r"ist|lautet|est|es|è|é|era|är|er|wynosi|equals|будет|—|-)[ \t]+|[ \t]+)[\"'“«]?"
    r"([^\s\"'”»,;<>{}()\[\]`]{3,200})"
    r"|(?:密码|密碼|パスワード|비밀번호|口令)\s*(?:[:：=是为は는]|是|为|は)\s*([^\s,，。;；、]{3,100})"
)
_STOP_VALUES = frozenset(
    """
    none null nil true false yes no required optional empty here below above the a an is this
    that changed reset incorrect invalid wrong correct expired updated protected hidden secret
    password token string str int value your my our their his her its example placeholder
    redacted masked unknown undefined default same different strong weak long short must should
    will can field please enter set not and or for to of in on at with from by if when see
    manager management policy policies hash hashed encrypted required. forgot change changes
    """.split()
)
_ENV_REFERENCE = re.compile(r"^(?:\$\{?\w+\}?|%\w+%|\{\{.*\}\}|<[^>]*>|\*+|x{3,}|•+|\.{3,}|…)$")
_MASKED = re.compile(r"^[*•x.#_-]+$", re.I)

ENTROPY = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}(?![\w+/=-])")
# Words that may name a secret; ASSIGNED runs only where one occurs (in the lower-cased text).
_SECRET_WORDS = re.compile(
    r"pass|pwd|secret|token|key|credential|kennwort|contraseña|clave|senha|wachtwoord|has[łl]o|"
    r"şifre|parola|salasana|lösenord|passord|adgangskode|пароль|κωδικός|סיסמ|كلمة|पासवर्ड|密码|"
    r"密碼|パスワード|비밀번호|口令"
)
_IDENTIFIER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
_WORDISH = re.compile(r"[a-z]{4,}|[A-Z][a-z]{3,}")
# Identifiers with a type prefix are ids, not secrets: OpenAI tool calls and objects, Stripe
# and Anthropic ids (``call_...``, ``chatcmpl-...``, ``cus_...``, ``toolu_...``).
_ID_PREFIX = re.compile(
    r"^(?:call|chatcmpl|msg|run|thread|asst|file|req|cus|evt|toolu|resp|fc|batch|ftjob|ft|ch|pi|"
    r"pm|in|sub|prod|price|txn|tx|ord|inv|job|task|trace|span|step|vs|org|proj|user|usr|acct|"
    r"ba|card|src|tok_test|seti|cs_test|ii|il|re|po|dp|ic|si)[_-]",
    re.I,
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# Literal prefixes of the ``KNOWN`` keys: the regex runs only when one is in the text.
_KNOWN_PREFIXES = (
    "sk-",
    "sk_",
    "pk_",
    "rk_",
    "whsec_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "xapp-",
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "ANPA",
    "ANVA",
    "AIPA",
    "AIza",
    "ya29.",
    "hf_",
    "npm_",
    "pypi-",
    "SG.",
    "shp",
    "dop_v1_",
    "sq0",
    "EAA",
    "SK",
    "AGE-SECRET-KEY-",
    "r8_",
    "gsk_",
    "xai-",
    "nvapi-",
    "lin_api_",
    "eyJ",
    "hooks.slack.com",
    "discord",
)


_KNOWN_GATE = re.compile("|".join(re.escape(prefix) for prefix in _KNOWN_PREFIXES))


def find_secrets(text: str, low: str) -> Iterator[Span]:
    for m in KNOWN.finditer(text) if _KNOWN_GATE.search(text) else ():
        if not m.start() or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-"):
            yield "SECRET", m.start(), m.end()
    if "-----BEGIN" in text:
        for m in PEM.finditer(text):
            yield "SECRET", m.start(), m.end()
    if "bearer" in low or "basic " in low or "token " in low:
        for m in BEARER.finditer(text):
            if _looks_random(m.group(1), minimum=16):
                yield "SECRET", m.start(1), m.end(1)
    yield from _assigned(text, low)
    for m in ENTROPY.finditer(text):
        before = text[max(0, m.start() - 8) : m.start()]
        if before[-1:] not in _ENTROPY_GLUE and _high_entropy(m.group(), before):
            yield "SECRET_ENTROPY", m.start(), m.end()


_ENTROPY_GLUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+/.-")


def _assigned(text: str, low: str) -> Iterator[Span]:
    """Values after a secret's name: each name found by ``_SECRET_WORDS`` is widened to its
    identifier ("db_password") and ``ASSIGNED`` is tried there."""
    tried = -1
    for hit in _SECRET_WORDS.finditer(low):
        start = hit.start()
        while start > 0 and low[start - 1] in _IDENTIFIER:
            start -= 1
        if start <= tried or (start and text[start - 1] in "-"):
            continue
        tried = start
        m = None
        for begin in _word_starts(low, start):  # "api key", "mot de passe": a name of words
            m = ASSIGNED.match(text, begin)
            if m is not None:
                break
        if m is None:
            continue
        if m.group(3) is not None:  # 密码是… / パスワードは…
            if _acceptable(m.group(3), loose=False):
                yield "SECRET_ASSIGNED", m.start(3), m.end(3)
            continue
        span = _assigned_value(text, m)
        if span:
            yield "SECRET_ASSIGNED", *span


def _word_starts(low: str, start: int) -> list[int]:
    """``start`` and the starts of the two words before it."""
    starts = [start]
    at = start
    for _ in range(2):
        space = low.rfind(" ", max(0, at - 16), at - 1)
        if space < 0:
            break
        at = space + 1
        starts.insert(0, at)
    return starts


def _assigned_value(text: str, m: re.Match) -> tuple[int, int] | None:
    value, separator = m.group(2), m.group(1)
    start = m.start(2)
    end = start + len(value.rstrip(".,;:!?"))
    if end - start < 3:
        return None
    sep = separator.strip()
    code_style = (
        text[start - 1] in "\"'“«"
        or sep in ("=", ":=", "=>", "->")
        or (sep in (":", "：") and not separator.endswith((" ", "\t")))
    )
    name = m.group(0)[: m.start(1) - m.start()]
    quoted = text[start - 1] in "\"'“«"
    if _acceptable(text[start:end], loose=not code_style, name=name, quoted=quoted):
        return start, end
    return None


# An unquoted value that is code, not a secret: a dotted name, or an identifier that names
# a secret itself (``settings.SECRET_KEY``, ``getpass.getpass``, ``secret_key``).
_CODE_REFERENCE = re.compile(
    r"^(?:[a-z_][a-z0-9_]*(?:\.[A-Za-z_]\w*)+|(?i:[a-z]+_)+(?i:key|secret|token|password|passwd|pwd)|"
    r"(?i:key|secret|token|password|passwd|pwd)(?i:_[a-z]+)+|[A-Z]+(?:_[A-Z]+)+)$"
)


def _acceptable(value: str, *, loose: bool, name: str = "", quoted: bool = False) -> bool:
    """Is ``value`` a secret and not a word, a placeholder or an environment reference?

    ``loose`` is prose ("the password is ...", "password: ..."), where the value must also look
    like a password (a digit, a symbol or mixed case), so "password is incorrect" is kept."""
    lower = value.lower()
    if lower in _STOP_VALUES or _ENV_REFERENCE.match(value) or _MASKED.match(value):
        return False
    if value.startswith(("http://", "https://", "os.", "process.env", "env.")) or "(" in value:
        return False
    if not any(c.isalnum() for c in value) or (not quoted and _CODE_REFERENCE.match(value)):
        return False  # "```", settings.SECRET_KEY, request.headers.get, secret_key
    if re.search(r"(?i)token|key", name) and not re.search(r"(?i)pass|pwd|secret", name):
        if value.isdigit() or len(value) < 8:
            return False  # token counts, key lengths
    if not loose:
        return True
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    mixed = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return has_digit or has_symbol or mixed or (len(value) >= 12 and not value.isalpha())


def _looks_random(token: str, *, minimum: int) -> bool:
    if len(token) < minimum:
        return False
    return any(c.isdigit() for c in token) or (
        any(c.isupper() for c in token) and any(c.islower() for c in token)
    )


def _high_entropy(token: str, before: str) -> bool:
    """A random-looking token of 20+ characters: upper, lower and digits mixed, high Shannon
    entropy, few word-like runs (so ``getUserById2Handler`` and paths are not secrets)."""
    body = token.rstrip("=")
    if before.endswith("base64,") or _UUID.match(body) or _ID_PREFIX.match(body):
        return False
    if not (
        any(c.isupper() for c in body)
        and any(c.islower() for c in body)
        and sum(c.isdigit() for c in body) >= 2
    ):
        return False
    if "/" in body and any(p.isalpha() and p.islower() for p in body.split("/") if p):
        return False  # a path
    wordish = sum(len(w) for w in _WORDISH.findall(body))
    if wordish > 0.35 * len(body):
        return False
    counts = Counter(body)
    entropy = -sum(n / len(body) * math.log2(n / len(body)) for n in counts.values())
    return entropy >= min(3.5, math.log2(len(body)) - 0.8)
