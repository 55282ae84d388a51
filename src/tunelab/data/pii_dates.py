"""Dates of birth: a date (numeric, with a month name in one of many languages, or CJK and
Japanese-era forms) next to a birth cue ("born", "DOB", "geboren", "né le", "родился", "生日",
"जन्म"). Other dates are kept. Used by ``privacy.find_pii``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec januar jänner februar märz mai juni juli "
    "oktober dezember janvier février fevrier mars avril juin juillet août aout septembre "
    "octobre novembre décembre decembre enero febrero marzo abril mayo junio julio agosto "
    "septiembre setiembre octubre noviembre diciembre gennaio febbraio aprile maggio giugno "
    "luglio settembre ottobre dicembre janeiro fevereiro março marco maio junho julho setembro "
    "novembro outubro dezembro januari februari maart mei augustus ocak şubat mart nisan "
    "mayıs haziran "
    "temmuz ağustos eylül ekim kasım aralık stycznia lutego marca kwietnia maja czerwca lipca "
    "sierpnia września października listopada grudnia января февраля марта апреля мая июня "
    "июля августа сентября октября ноября декабря січня лютого березня квітня травня червня "
    "липня серпня вересня жовтня листопада грудня ιανουαρίου φεβρουαρίου μαρτίου απριλίου "
    "μαΐου ιουνίου ιουλίου αυγούστου σεπτεμβρίου οκτωβρίου νοεμβρίου δεκεμβρίου يناير فبراير "
    "مارس أبريل ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر أكتوبر اكتوبر نوفمبر ديسمبر जनवरी "
    "फ़रवरी फरवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर सितम्बर अक्टूबर अक्तूबर नवंबर नवम्बर "
    "दिसंबर दिसम्बर มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน "
    "ตุลาคม พฤศจิกายน ธันวาคม"
).split()
_MONTH = "(?:" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"
DATE = re.compile(
    r"(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    r"|(?:明治|大正|昭和|平成|令和)\s?(?:\d{1,2}|元)年\s?\d{1,2}月\s?\d{1,2}日"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|º|°|\.)?\s?(?:of |de |di |du )?{_MONTH}(?: de| del| of)?,?"
    r"\s\d{4}(?:\s?(?:г\.|года|г|r\.|roku))?"
    rf"|\d{{1,2}}[-/. ]{_MONTH}[-/. ](?:\d{{4}}|\d{{2}})"
    rf"|{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}}|{_MONTH}(?: of)?\s\d{{4}}"
    r"|\d{4}\s?[年년]\s?\d{1,2}\s?[月월](?:\s?\d{1,2}\s?[日일号號]?)?"
    r")(?![0-9A-Za-z])"
)
# Birth cues, matched on the lower-cased text. No branch starts with ``\b`` (that would make
# the regex engine try every position); short words are checked for word edges in code.
BIRTH_CUE = re.compile(
    r"nascimento|nacimiento|naissance|geboorte|geboren|geburt|nascit|nascid[oa]|nacid[oa]|"
    r"nasceu|nasci|naci[óo]|nac[ií]|birth|born|dob|d\.o\.b|b\.|geb\.|née|nee|né|nat[oa]|urodz|"
    r"doğum|født|född|syntynyt|narozen|született|родил|рожд|народж|народив|γεννήθ|γέννησης|生日|"
    r"出生|誕生|生年月日|生まれ|जन्म|الميلاد|ولدت|ولد|مواليد|생년월일|생일|출생|태어|נולד|לידה|เกิด"
)
_KEY_END = re.compile(r"[\"']?\s*[:=]")  # "date_of_birth": ..., dob=...
_WHOLE_WORD_CUES = frozenset("born dob b. née nee né nací naci nació nacio nasci nato nata".split())


def _birth_cues(low: str) -> Iterator[re.Match]:
    for m in BIRTH_CUE.finditer(low):
        if low[m.end() : m.end() + 1] == "_" or (
            low[m.start() - 1 : m.start()] == "_" and not _KEY_END.match(low, m.end())
        ):
            continue  # inside a placeholder or an identifier: <DATE_OF_BIRTH_1>
        if m.group() in _WHOLE_WORD_CUES:
            if m.start() and low[m.start() - 1].isalpha():
                continue
            if m.group()[-1].isalpha() and low[m.end() : m.end() + 1].isalpha():
                continue
        yield m


# Words whose presence (in the lower-cased text) makes a date of birth possible at all.
BIRTH_WORDS = (
    "born birth dob d.o.b geboren geb. geburt né née nacid nací nació nasci nato nata nascit "
    "nascid nascim naissance nacimiento geboorte urodz doğum født född syntynyt narozen "
    "született เกิด "
    "geboorte urodz doğum født född syntynyt narozen született родил рожд народ γεννήθ γέννησ "
    "生日 出生 誕生 生年月日 生まれ जन्म الميلاد ولد مواليد 생년월일 생일 출생 태어 נולד לידה"
).split()
# One scan of literal words (no leading assertion, so the regex engine skips fast).
_BIRTH_GATE = re.compile("|".join(re.escape(word) for word in BIRTH_WORDS))
BIRTH_YEAR = re.compile(
    r"(?:born|geboren|n(?:é|ée|ee)|nacid[oa]|nat[oa]|nascid[oa]|родил(?:ся|ась))\s"
    r"(?:in|en|im|em|в|em)\s((?:19|20)\d{2})\b"
)


def find_birth_dates(text: str, low: str) -> Iterator[Span]:
    """The first date after a birth cue ("born on", "DOB:", "родился"), within the sentence, or a
    date just before a cue ("1990-05-17 (date of birth)"). Dates are looked for only around
    the cues, so text without one costs a single scan."""
    if not _BIRTH_GATE.search(low):
        return
    for cue in _birth_cues(low):
        after = next(_dates(low, cue.end(), min(len(low), cue.end() + 48)), None)
        if after and "<" in text[cue.end() : after.start()]:
            continue  # "DOB <DATE_OF_BIRTH_1>, seen 2024-03-01": scrubbed already
        if after and not _SENTENCE_END.search(text, cue.end(), after.start()):
            yield "DATE_OF_BIRTH", after.start(), after.end()
        if not cue.group().startswith(_NOUN_CUES):
            continue  # "ผมเกิดวันที่ ...": a verb cue comes before its date
        before = _last(_dates(low, max(0, cue.start() - 60), cue.start()))
        if (
            before
            and cue.start() - before.end() <= 32
            and not _SENTENCE_END.search(text, before.end(), cue.start() + 1)
        ):
            yield "DATE_OF_BIRTH", before.start(), before.end()
    for m in BIRTH_YEAR.finditer(low):
        if not m.start() or not low[m.start() - 1].isalpha():
            yield "DATE_OF_BIRTH", m.start(1), m.end(1)


_SENTENCE_END = re.compile(r"[!?;\n؟।]|\.\s+\S|[。！？]")
# Cues that may follow their date ("1990-05-17 (date of birth)", "... — that's the DOB").
_NOUN_CUES = tuple(
    "birth dob d.o.b geburt naissance nacimiento nascit nascim geboorte рожд urodz doğum "
    "geboren".split()
)


def _last(matches: Iterator[re.Match]) -> re.Match | None:
    found = None
    for found in matches:  # noqa: B007
        pass
    return found


def _dates(low: str, start: int, end: int) -> Iterator[re.Match]:
    """Dates in ``low[start:end]`` (lower-cased text), not glued to a longer token."""
    for m in DATE.finditer(low, start, end):
        before = low[m.start() - 2 : m.start()] if m.start() > 1 else low[: m.start()]
        if before[-1:] and (before[-1].isascii() and before[-1].isalnum() or before[-1] in ".:/"):
            continue
        if before[-1:] == "-" and before[:1].isascii() and before[:1].isalnum():
            continue
        yield m


def find_dates(text: str) -> Iterator[tuple[int, int]]:
    """Every date, birth or not (the scrubber keeps those without a birth cue)."""
    low = text.lower()
    for m in _dates(low, 0, len(low)):
        yield m.span()
