"""Person names in caseless scripts: Arabic (and Persian/Urdu), Hebrew and Devanagari here,
Chinese, Japanese, Korean and Thai in ``pii_names_asia``. Without capital letters a name is a
known given name (extended over the father's or family name that follows it, and over one word
no list knows), a cue (a title, "اسمي", "मेरा नाम", "שמי", "קוראים לי") followed by up to two
such words, or an unknown word before a known surname ("हरप्रीत सिंह"). The common words of
each script in ``pii_caseless_words`` end a name, so "דוד אמר" keeps its verb. Used by
``pii_names``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from tunelab.data import pii_caseless_words as words
from tunelab.data import pii_lexicon_caseless as more
from tunelab.data import pii_lexicon_world as world
from tunelab.data.pii_names_asia import (
    CJK_SURNAME,
    HAN,
    JP_GIVEN,
    JP_SURNAME,
    TH_GIVEN,
    chinese_names,
    japanese_names,
    korean_names,
    thai_names,
)

Span = tuple[str, int, int]

_AR_DIACRITICS = re.compile(r"[\u064B-\u0652\u0670\u0640]")
_AR_TOKEN = re.compile(r"[\u0621-\u064A\u0671-\u06D3\u06FA-\u06FF\u064B-\u0652\u0670\u0640]+")
# Words that normalise to a name: على "on" becomes علي "Ali".
_AR_RAW_STOP = frozenset("على إلى الى حتى متى لدى عل".split())
_AR_STRONG = frozenset(
    "اسمي اسمه اسمها يدعي تدعي ادعي المريض المريضه العميل العميله يا معك".split()
)
# Weak cues: "أنا", "عن" ("on behalf of") before a name the lists know.
_AR_WEAK = frozenset("انا عن لصالح باسم تحيات تحياتي".split())


def normalize_arabic(word: str) -> str:
    word = _AR_DIACRITICS.sub("", word)
    return (
        word.replace("أ", "ا")
        .replace("إ", "ا")
        .replace("آ", "ا")
        .replace("ى", "ي")
        .replace("ة", "ه")
        .replace("ی", "ي")
        .replace("ک", "ك")
    )


def _ar_set(text: str) -> frozenset[str]:
    return frozenset(normalize_arabic(w) for w in text.split())


AR_AMBIGUOUS = _ar_set(world.ARABIC_AMBIGUOUS + more.ARABIC_AMBIGUOUS)
AR_GIVEN = _ar_set(world.ARABIC_GIVEN + more.ARABIC_GIVEN) - AR_AMBIGUOUS
AR_FAMILY = _ar_set(world.ARABIC_FAMILY + more.ARABIC_FAMILY)
AR_TITLES = _ar_set(world.ARABIC_TITLES)
_AR_STOP = _ar_set(" ".join(words.ARABIC_STOP))
HE_GIVEN = frozenset((world.HEBREW_GIVEN + more.HEBREW_GIVEN).split())
HE_SURNAMES = frozenset((world.HEBREW_SURNAMES + more.HEBREW_SURNAMES).split()) - {"בן"}
HE_TITLES = frozenset(world.HEBREW_TITLES.split()) | {"שמי"}
DEV_AMBIGUOUS = frozenset((world.DEVANAGARI_AMBIGUOUS + " " + more.DEVANAGARI_AMBIGUOUS).split())
DEV_GIVEN = frozenset((world.DEVANAGARI_GIVEN + more.DEVANAGARI_GIVEN).split()) - DEV_AMBIGUOUS
DEV_SURNAMES = frozenset((world.DEVANAGARI_SURNAMES + more.DEVANAGARI_SURNAMES).split())
DEV_TITLES = frozenset(world.DEVANAGARI_TITLES.split())


def known_caseless_name(word: str) -> bool:
    """Is ``word`` (one word of a caseless script) a given name or surname some list knows?"""
    first = word[0]
    if "\u0600" <= first <= "\u06ff":
        key = normalize_arabic(word)
        bare = key[1:] if key[:1] in "وبلف" else ""
        return key in AR_GIVEN or key in AR_FAMILY or key in AR_AMBIGUOUS or bare in AR_GIVEN
    if "\u0590" <= first <= "\u05ff":
        bare = word[1:] if word[:1] in words.HEBREW_PREFIXES else ""
        return any(k in HE_GIVEN or k in HE_SURNAMES for k in (word, bare) if k)
    if "\u0900" <= first <= "\u097f":
        return word in DEV_GIVEN or word in DEV_SURNAMES or word in DEV_AMBIGUOUS
    if "\u0e00" <= first <= "\u0e7f":
        return TH_GIVEN.match(word) is not None
    if "\uac00" <= first <= "\ud7a3":
        return word in world.KOREAN_GIVEN or (
            word[:1] in world.KOREAN_SURNAMES and word[1:] in world.KOREAN_GIVEN
        )
    if 2 <= len(word) <= 4 and HAN.match(first):
        return CJK_SURNAME.match(word) is not None or JP_SURNAME.match(word) is not None
    return JP_GIVEN.fullmatch(word) is not None


def find_caseless_names(text: str) -> Iterator[Span]:
    if _has(text, "\u0600", "\u06ff"):
        yield from _token_names(text, _AR_TOKEN, _arabic_class, _AR_RULES)
    if _has(text, "\u0590", "\u05ff"):
        yield from _token_names(text, _HE_TOKEN, _hebrew_class, _HE_RULES)
    if _has(text, "\u0900", "\u097f"):
        yield from _token_names(text, _DEV_TOKEN, _devanagari_class, _DEV_RULES)
        yield from _hindi_cued(text)
    if _has(text, "\u3040", "\u9fff"):
        yield from japanese_names(text)
        yield from chinese_names(text)
    if _has(text, "\uac00", "\ud7a3"):
        yield from korean_names(text)
    if _has(text, "\u0e00", "\u0e7f"):
        yield from thai_names(text)


_SCRIPT_PROBES: dict[tuple[str, str], re.Pattern] = {}


def _has(text: str, low: str, high: str) -> bool:
    probe = _SCRIPT_PROBES.get((low, high))
    if probe is None:
        probe = _SCRIPT_PROBES[(low, high)] = re.compile(f"[{low}-{high}]")
    return probe.search(text) is not None


# Token classes: G given, A ambiguous given, F family name, J joiner, L an ``ال``-word, T title,
# S strong cue, W weak cue (a known name must follow), u unknown, v unknown that reads as a
# verb or a prefixed noun (a name only right after a strong cue), x a common word.
def _arabic_class(word: str) -> tuple[str, int]:
    """(class, characters of a glued prefix such as و "and" to leave out of the span)."""
    if _AR_DIACRITICS.sub("", word) in _AR_RAW_STOP:
        return "x", 0
    key = normalize_arabic(word)
    for offset, form in ((0, key), (1, key[1:] if key[:1] in "وبلف" else "")):
        if not form:
            continue
        if form in AR_TITLES:
            return "T", offset
        if form in _AR_STRONG:
            return "S", offset
        if form in AR_AMBIGUOUS:
            return "A", offset
        if form in AR_GIVEN:
            return "G", offset
        if form in AR_FAMILY:
            return "F", offset
        if form in world.ARABIC_JOINERS:
            return "J", offset
    if key in _AR_STOP or (key[:1] in "وف" and key[1:] in _AR_STOP):
        return "x", 0
    if key in _AR_WEAK:
        return "W", 0
    if key.startswith("ال") and len(key) > 3:
        return "L", 0
    return ("v" if words.ARABIC_NOT_SURNAME.search(key) else "u"), 0


_HE_TOKEN = re.compile(r"[\u05D0-\u05EA\u05F0-\u05F4\"'׳״]+")
_HE_CUES = frozenset("כאן שמי הלקוח הלקוחה המטופל המטופלת בשם בברכה".split())
_HE_WEAK = frozenset("אני עבור לכבוד".split())
_HE_JOINERS = frozenset("בן בת".split())


def _hebrew_class(word: str) -> tuple[str, int]:
    if word in words.HEBREW_STOP:
        return "x", 0
    if word in _HE_CUES:
        return "S", 0
    if word in _HE_WEAK:
        return "W", 0
    if word in _HE_JOINERS:
        return "J", 0
    prefixed = word[:1] in words.HEBREW_PREFIXES
    for offset, form in ((0, word), (1, word[1:] if prefixed else "")):
        if form in HE_TITLES:
            return "T", offset
        if form in HE_GIVEN:
            return "G", offset
        if form in HE_SURNAMES:
            return "F", offset
    if prefixed and word[1:] in words.HEBREW_STOP:
        return "x", 0  # "ואני", "שהוא"
    if words.HEBREW_SURNAME_SHAPE.search(word) or (word[-1] == "י" and word[:-1] in _HE_GIVEN_3):
        return "F", 0  # "ברקוביץ", "רוזנבלום"; "שמואלי", "יעקבי": a given name and -i
    if len(word) > 3 and words.HEBREW_PREFIXED_NOUN.match(word):
        return "v", 0  # "מהשירות", "וההזמנה": a prefix and the article
    return "u", 0


_HE_GIVEN_3 = frozenset(w for w in HE_GIVEN if len(w) >= 3)
_DEV_TOKEN = re.compile(r"[\u0900-\u0963\u0966-\u097F]+\.?")
_DEV_CUES = frozenset("सादर भवदीय भवदीया".split())


def _devanagari_class(word: str) -> tuple[str, int]:
    word = word.rstrip(".")
    if word in words.DEVANAGARI_STOP:
        return "x", 0
    if word in DEV_TITLES or word + "." in DEV_TITLES:
        return "T", 0
    if word in _DEV_CUES:
        return "S", 0
    if word in DEV_AMBIGUOUS:
        return "A", 0
    if word in DEV_GIVEN or words.DEVANAGARI_GIVEN_SHAPE.search(word):
        return "G", 0
    if word in DEV_SURNAMES:
        return "F", 0
    return "u", 0


class _Rules(NamedTuple):
    """How names are put together in one script."""

    max_parts: int
    joiner_first: bool  # may a name start with a joiner ("عبد الله", "ابو بكر")?
    unknown_before_surname: frozenset[str] | None  # u + F is a name, but for these surnames
    phrases: re.Pattern | None  # cue phrases of several words ("קוראים לי")


_AR_RULES = _Rules(4, True, None, re.compile(r"مع (?:خالص )?تحيات|الاسم الكامل|اسم العميل"))
_HE_RULES = _Rules(
    3, False, more.HEBREW_SURNAME_WORDS, re.compile(r"קוראים לי|השם שלי(?: הוא)?|שם מלא|איש קשר")
)
_DEV_RULES = _Rules(3, False, more.DEVANAGARI_SURNAME_WORDS, None)


def _token_names(text: str, token: re.Pattern, classify, rules: _Rules) -> Iterator[Span]:
    """A name starts at a given name (or after a title or cue, or at a family name before a
    given name, or at an unknown word before a known surname) and runs over the father's and
    family names, joiners (بن, عبد), ``ال``-words (nisba) and one word no list knows (two
    after a strong cue), stopping at the first common word of the script."""
    tokens = [[m.start(), m.end(), *classify(m.group())] for m in token.finditer(text)]
    if rules.phrases is not None:
        ends = {m.end() for m in rules.phrases.finditer(text)}
        for t in tokens:
            if t[1] in ends:
                t[2] = "S"
    i = 0
    while i < len(tokens):
        cue = tokens[i][2] if tokens[i][2] in "TSW" else ""
        j = i + 1 if cue else i
        if j >= len(tokens) or (cue and not _after_cue(text, tokens[i][1], tokens[j][0])):
            i += 1
            continue
        if not _starts_name(text, tokens, j, cue, rules):
            i += 1
            continue
        k = _name_end(text, tokens, j, 2 if cue in ("T", "S") else 1, rules.max_parts)
        end = tokens[k - 1][1]
        yield "PERSON", tokens[j][0] + tokens[j][3], end - (text[end - 1] == ".")
        i = k


def _starts_name(text: str, tokens: list, j: int, cue: str, rules: _Rules) -> bool:
    kind = tokens[j][2]
    nxt = ""
    if j + 1 < len(tokens) and _adjacent(text, tokens[j][1], tokens[j + 1][0]):
        nxt = tokens[j + 1][2]
    if kind == "J":  # a joiner alone ("ابن" = son) is not a name
        return bool(nxt) and nxt not in "xTSW" and (rules.joiner_first or cue in ("T", "S"))
    if cue in ("T", "S"):
        return kind in "GAFLuv"
    if kind == "G" or (kind == "A" and nxt in "GFJ") or (kind == "F" and nxt in "GJ"):
        return True
    if cue == "W":
        return kind in "AF"
    if kind == "u" and nxt == "F" and rules.unknown_before_surname is not None:
        surname = text[tokens[j + 1][0] : tokens[j + 1][1]].rstrip(".")
        return surname not in rules.unknown_before_surname  # "हरप्रीत सिंह", "לנחום ברקוביץ"
    return False


def _name_end(text: str, tokens: list, j: int, unknowns: int, max_parts: int) -> int:
    """The index after the last token of the name that starts at ``tokens[j]``."""
    unknowns -= tokens[j][2] in "uv"
    k = j + 1
    while k < len(tokens) and k - j < max_parts and _adjacent(text, tokens[k - 1][1], tokens[k][0]):
        kind, before = tokens[k][2], tokens[k - 1][2]
        if kind in "GAFJ" or (kind == "L" and before != "x") or (before == "J" and kind in "uv"):
            k += 1
        elif kind == "u" and unknowns > 0:
            k += 1
            unknowns -= 1
        elif (
            kind == "T"
            and before in "GAFL"
            and (k + 1 == len(tokens) or not _adjacent(text, tokens[k][1], tokens[k + 1][0]))
        ):
            return k + 1  # "ماجد بن فيصل السيد": a family name that is also a title, at the end
        else:
            break
    while k - 1 > j and tokens[k - 1][2] == "J":
        k -= 1  # "محمد بن": a joiner ends no name
    return k


def _adjacent(text: str, end: int, start: int) -> bool:
    return text[end:start] in (" ", "\u00a0", "  ")


_CUE_GAP = re.compile(r"[ \u00a0]?[,:،—-]?[ \u00a0\n]{1,2}")


def _after_cue(text: str, end: int, start: int) -> bool:
    """Does a name start right after the cue ("שמי X", "בברכה,\nX", "الاسم: X")?"""
    return _CUE_GAP.fullmatch(text, end, start) is not None


def _hindi_cued(text: str) -> Iterator[Span]:
    """ "मेरा नाम X है", "मैं X बोल रहा हूँ", "X जी": a name by its cue even when it is not in
    the lists (none of its words a common word; before a full stop, its first word known)."""
    for m in _HINDI_NAME_IS.finditer(text):
        parts = m.group(1).split()
        if any(_devanagari_class(w)[0] in "xTS" for w in parts):
            continue
        if m.group(2) is None and _devanagari_class(parts[0])[0] not in "GAF":
            continue
        yield "PERSON", m.start(1), m.start(1) + len(m.group(1).rstrip())
    for m in _HINDI_JI.finditer(text):
        if _devanagari_class(m.group(1))[0] in "GAF":
            yield "PERSON", m.start(1), m.end(1)


_DEV_WORD = r"[\u0900-\u0963\u0966-\u097F]+"
_HINDI_NAME_IS = re.compile(
    rf"(?:मेरा नाम|मेरो नाम|माझे नाव|नाम\s?:|मैं)\s((?:{_DEV_WORD}\s?){{1,3}}?)"
    r"(?=\s?(?:(है|हूँ|हूं|हैं|आहे|छ|बोल रहा|बोल रही)|।|,|\.|$))"
)
_HINDI_JI = re.compile(rf"({_DEV_WORD})\sजी\b")
