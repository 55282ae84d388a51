"""Person names in caseless scripts: Arabic (and Persian/Urdu), Hebrew and Devanagari here,
Chinese, Japanese, Korean and Thai in ``pii_names_asia``. Without capital letters a name is a
known given name (extended over the father's or family name that follows it), or a cue (a
title, "اسمي", "मेरा नाम", "שמי") followed by name-shaped words. Used by ``pii_names``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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
_AR_STOP = frozenset(
    "من في على الى عن مع و هو هي هذا هذه ذلك تلك كان كانت انا نحن انت انتم هم قال قالت "
    "يا ان اذا لا لم لن قد ثم او ام بل كل بعض عند لدي لدى الي الذي التي اليوم غدا امس "
    "مرحبا شكرا".split()
)
# Words that normalise to a name: على "on" becomes علي "Ali".
_AR_RAW_STOP = frozenset("على إلى الى حتى متى لدى عل".split())
_AR_STRONG = frozenset(
    "اسمي اسمه اسمها يدعي تدعي ادعي المريض المريضه العميل العميله يا معك عن".split()
)


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


AR_GIVEN = _ar_set(world.ARABIC_GIVEN)
AR_AMBIGUOUS = _ar_set(world.ARABIC_AMBIGUOUS)
AR_FAMILY = _ar_set(world.ARABIC_FAMILY)
AR_TITLES = _ar_set(world.ARABIC_TITLES)
HE_GIVEN = frozenset(world.HEBREW_GIVEN.split())
HE_SURNAMES = frozenset(world.HEBREW_SURNAMES.split())
HE_TITLES = frozenset(world.HEBREW_TITLES.split()) | {"שמי"}
DEV_GIVEN = frozenset(world.DEVANAGARI_GIVEN.split())
DEV_AMBIGUOUS = frozenset(world.DEVANAGARI_AMBIGUOUS.split())
DEV_SURNAMES = frozenset(world.DEVANAGARI_SURNAMES.split())
DEV_TITLES = frozenset(world.DEVANAGARI_TITLES.split())


def known_caseless_name(word: str) -> bool:
    """Is ``word`` (one word of a caseless script) a given name or surname some list knows?"""
    first = word[0]
    if "\u0600" <= first <= "\u06ff":
        key = normalize_arabic(word)
        return any(k in AR_GIVEN or k in AR_FAMILY or k in AR_AMBIGUOUS for k in (key, key[1:]))
    if "\u0590" <= first <= "\u05ff":
        return any(k in HE_GIVEN or k in HE_SURNAMES for k in (word, word[1:]))
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
        yield from _token_names(text, _AR_TOKEN, _arabic_class, max_parts=4)
    if _has(text, "\u0590", "\u05ff"):
        yield from _token_names(text, _HE_TOKEN, _hebrew_class, max_parts=3, unknown_surname=True)
    if _has(text, "\u0900", "\u097f"):
        yield from _token_names(
            text, _DEV_TOKEN, _devanagari_class, max_parts=3, unknown_surname=True
        )
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


# Token classes: G given, A ambiguous given, F family name, J joiner, T title/cue, S strong cue.
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
    if key in _AR_STOP:
        return "x", 0
    return ("L" if key.startswith("ال") and len(key) > 3 else "u"), 0


_HE_TOKEN = re.compile(r"[\u05D0-\u05EA\u05F0-\u05F4\"'׳״]+")


_HE_STOP = frozenset(
    "של את עם על אל זה זאת היא הוא אני אנחנו אתה את הם הן שם היי שלום תודה נא אם גם רק כבר לא "
    "כן מה מי איך למה יש אין היום מחר אתמול אבל או כי עוד מאוד כל כמה פה התקשר התקשרה שלח "
    "שלחה אמר אמרה ביקש ביקשה".split()
)
_HE_CUES = frozenset("כאן שמי אני הלקוח הלקוחה המטופל המטופלת בשם עבור".split())


def _hebrew_class(word: str) -> tuple[str, int]:
    if word in _HE_STOP:
        return "x", 0
    if word in _HE_CUES:
        return "S", 0
    for offset, form in ((0, word), (1, word[1:] if word[:1] in "והלבמשכ" else "")):
        if form in HE_TITLES:
            return "T", offset
        if form in HE_GIVEN:
            return "G", offset
        if form in HE_SURNAMES:
            return "F", offset
    return "u", 0


_DEV_TOKEN = re.compile(r"[\u0900-\u0963\u0966-\u097F]+\.?")


_DEV_STOP = frozenset(
    "है हैं था थी थे ने को का की के से में पर और या भी तो ही नहीं जी एक यह वह मैं हम आप तुम कि "
    "जो कर करें करना रहा रही रहे गया गई दिया लिया आज कल अब फिर बहुत सब कुछ कोई क्या क्यों "
    "कैसे कहाँ यहाँ वहाँ मेरा मेरी मेरे आपका आपकी आपके उनका उसका हूँ हूं नमस्ते धन्यवाद "
    "कृपया बात".split()
)


def _devanagari_class(word: str) -> tuple[str, int]:
    word = word.rstrip(".")
    if word in _DEV_STOP:
        return "x", 0
    if word in DEV_TITLES or word + "." in DEV_TITLES:
        return "T", 0
    if word in DEV_AMBIGUOUS:
        return "A", 0
    if word in DEV_GIVEN:
        return "G", 0
    if word in DEV_SURNAMES:
        return "F", 0
    return "u", 0


def _token_names(
    text: str, token: re.Pattern, classify, *, max_parts: int, unknown_surname: bool = False
) -> Iterator[Span]:
    """A name starts at a given name (or after a title or cue, or at a family name before a
    given name) and runs over the father's and family names, joiners (بن, عبد) and, after a
    name, ``ال``-words (nisba). With ``unknown_surname`` one word that no list knows may follow
    a given name as its surname (Hebrew, Devanagari), unless it is a function word."""
    tokens = [(m.start(), m.end(), *classify(m.group())) for m in token.finditer(text)]
    i = 0
    while i < len(tokens):
        start, end, kind, offset = tokens[i]
        cued = kind in "TS"
        j = i + 1 if cued else i
        if j >= len(tokens) or (cued and not _adjacent(text, end, tokens[j][0])):
            i += 1
            continue
        first = tokens[j]
        nxt = (
            tokens[j + 1][2]
            if j + 1 < len(tokens) and _adjacent(text, first[1], tokens[j + 1][0])
            else ""
        )
        if not (first[2] in "GJ" or (cued and first[2] in "AFLGu")):
            if not (first[2] in "AF" and nxt in ("GJ" if first[2] == "F" else "GFJ")):
                i += 1
                continue
        k = j + 1
        while (
            k < len(tokens)
            and k - j < max_parts
            and _adjacent(text, tokens[k - 1][1], tokens[k][0])
        ):
            kind_k = tokens[k][2]
            if (
                kind_k in "GAFJ"
                or (kind_k == "L" and tokens[k - 1][2] != "x")
                or (tokens[k - 1][2] == "J" and kind_k == "u")
            ):
                k += 1
            elif unknown_surname and kind_k == "u" and tokens[k - 1][2] in "GA" and k - j < 2:
                k += 1
                break
            elif (
                kind_k == "T"
                and tokens[k - 1][2] in "GAFL"
                and (k + 1 == len(tokens) or not _adjacent(text, tokens[k][1], tokens[k + 1][0]))
            ):
                k += 1  # "ماجد بن فيصل السيد": a family name that is also a title, at the end
                break
            else:
                break
        if first[2] == "J" and k == j + 1:  # a joiner alone ("ابن" = son) is not a name
            i += 1
            continue
        end = tokens[k - 1][1]
        yield "PERSON", first[0] + first[3], end - (text[end - 1] == ".")
        i = k


def _adjacent(text: str, end: int, start: int) -> bool:
    return text[end:start] in (" ", "\u00a0", "  ")


def _hindi_cued(text: str) -> Iterator[Span]:
    """ "मेरा नाम X है", "X जी": a name by its cue even when it is not in the lists."""
    for m in _HINDI_NAME_IS.finditer(text):
        yield "PERSON", m.start(1), m.end(1)
    for m in _HINDI_JI.finditer(text):
        if m.group(1) in DEV_SURNAMES or m.group(1) in DEV_GIVEN or m.group(1) in DEV_AMBIGUOUS:
            yield "PERSON", m.start(1), m.end(1)


_HINDI_NAME_IS = re.compile(
    r"(?:मेरा नाम|मेरो नाम|माझे नाव|नाम\s?:)\s((?:[\u0900-\u0963\u0966-\u097F]+\s?){1,3}?)"
    r"(?=\s?(?:है|हूँ|हूं|हैं|आहे|छ|।|,|\.|$))"
)
_HINDI_JI = re.compile(r"([\u0900-\u0963\u0966-\u097F]+)\sजी\b")
