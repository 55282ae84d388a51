"""Street addresses in several languages: a house number, a street name and a street type, with
the unit, city, state, postcode and country that follow, so that every part is removed.

Four shapes cover most of the world's conventions:
- number first, type last (English, Indian English): ``221B Baker Street, London NW1 6XE``;
- name with a type suffix, number last (German, Dutch, Nordic, Turkish):
  ``Hauptstraße 5, 10115 Berlin``, ``Atatürk Caddesi No: 12``;
- type first (French, Spanish, Italian, Portuguese, Polish, Russian, Greek, Arabic, Hebrew,
  Indonesian, Vietnamese): ``12 rue de la Paix, 75002 Paris``, ``ул. Тверская, д. 7, кв. 5``;
- administrative units then a numbered road (Chinese, Japanese, Korean):
  ``北京市朝阳区建国路88号``, ``東京都千代田区丸の内1-1-1``, ``서울특별시 강남구 테헤란로 123``.
A street type alone or a number alone is not an address; both are required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

_CAP = r"[A-ZÀ-ÖØ-ÞĀ-Ž]"
# A capitalised word of a place name; a street word may end in an abbreviation's dot ("St."),
# a city word may not (the dot ends the sentence: "... 31000 Toulouse. Will it ...").
_NAMEWORD = rf"{_CAP}(?:[^\W\d_]|['’.-](?=[^\W\d_]))*(?![\w-])"
_WORD = rf"{_NAMEWORD}\.?"
_EN_TYPES = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|"
    r"Terrace|Ter|Terr|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Trl|Crescent|Cres|"
    r"Close|Grove|Row|Walk|Alley|Mews|Gardens|Gdns|Park|Plaza|Loop|Pike|Expressway|Expy|"
    r"Freeway|Fwy|Turnpike|Causeway|Esplanade|Quay|Wharf|Rise|Marg|Nagar|Chowk|Broadway|"
    r"Parade|Promenade|Circuit|Crest|Heights|Ridge|Mall|Embankment|Hill|Green|View|Point"
)
_STATES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    r"Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|"
    r"Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
    r"New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|"
    r"Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|"
    r"Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Ontario|Quebec|"
    r"British Columbia|Alberta|[A-Z]{2,3}"
)
_COUNTRIES = (
    r"USA|U\.S\.A\.|US|United States|UK|United Kingdom|England|Scotland|Wales|Ireland|Canada|"
    r"Australia|New Zealand|India|Singapore|Deutschland|Germany|Österreich|Austria|Schweiz|"
    r"Switzerland|Nederland|Netherlands|België|Belgique|Belgium|Sverige|Sweden|Danmark|Denmark|"
    r"Norge|Norway|Suomi|Finland|France|España|Spain|Italia|Italy|Portugal|Brasil|Brazil|"
    r"México|Mexico|Argentina|Chile|Colombia|Polska|Poland|Türkiye|Turkey|Россия|Україна"
)
_POSTCODE = (
    r"\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|\d{6}|\d{4}"
)
_UNIT = r"(?:Apt|Apartment|Flat|Unit|Suite|Ste|Fl|Floor|Room|Rm|Bldg|Building|#)\.?\s?#?[\w-]{1,6}"
_CITY = rf"{_NAMEWORD}(?: {_NAMEWORD}){{0,2}}"
# What follows the street: a unit, then district and city, state, postcode, country; on the next
# line only a city with its postcode ("\nMadison, WI 53715", "\nBristol BS8 9TU").
_TAIL = (
    rf"(?:,?\s{{1,2}}{_UNIT})?(?:\s*\n\s*{_CITY}(?:,?\s(?:{_STATES})\b\.?)?,?\s(?:{_POSTCODE})"
    rf"|(?:,\s?{_CITY}){{0,2}}(?:,?\s(?:{_STATES})\b\.?)?(?:,?\s(?:{_POSTCODE}))?)"
    rf"(?:,\s?(?:{_COUNTRIES}))?"
)
ENGLISH = re.compile(
    rf"\d(?<![\w-]\d)\d{{0,5}}[A-Za-z]?(?:[-/]\d{{1,5}}[A-Za-z]?)?,?\s"
    r"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s)?"
    rf"(?:(?:{_WORD}|\d{{1,3}}(?:st|nd|rd|th))\s){{1,4}}?(?:{_EN_TYPES})\b\.?"
    rf"(?:\s(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?{_TAIL}"
)
PO_BOX = re.compile(rf"(?i:\bP\.?\s?O\.?\s?Box|\bPostfach|\bApartado)\s\d{{1,6}}{_TAIL}")

_MONTH_WORDS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Januar|Februar|März|Mai|Juni|"
    r"Juli|Oktober|Dezember)"
)
_SUFFIX_TYPES = (
    r"straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|ufer|chaussee|pfad|steig|markt|"
    r"graben|straat|laan|gracht|plein|kade|singel|dijk|steeg|gatan|gata|vägen|väg|gränd|"
    r"torget|gade|vej|veien|vegen|gate|katu|tie|utca|út"
)
_SUFFIX_WORDS = r"Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer|Chaussee|Markt"
_CITY_TAIL = (
    r"(?:,\s?|\s)(?:(?:D|A|CH|NL|B|L|F|I|E)-)?(?:\d{4,5}(?:\s?[A-Z]{2}\b)?|\d{3}\s\d{2})"
    rf"\s{_NAMEWORD}(?: (?:am|an der|im|bei|ob der) {_NAMEWORD}| {_NAMEWORD}(?=[,\n)]|$))?"
)
SUFFIXED = re.compile(
    rf"(?<![\w-])(?:{_WORD}\s(?:(?:den|der|dem|des|van|de|het)\s)?)?"
    rf"(?:{_CAP}[\wäöüßåæø'’.-]*(?:{_SUFFIX_TYPES})|{_WORD}\s(?:{_SUFFIX_WORDS})"
    rf"|{_CAP}[\w'’.-]*-(?:{_SUFFIX_WORDS}))"
    r"\s\d{1,4} ?[a-zA-Z]?\b(?: ?[-/] ?\d{1,4}[a-zA-Z]?)?"
    rf"(?:{_CITY_TAIL})?(?:,\s?(?:{_COUNTRIES}))?"
)
# No street type, but a house number then a postcode and a city: "Unter den Linden 77, 10117
# Berlin", "Am Markt 5, 28195 Bremen".
POSTCODE_CITY = re.compile(
    rf"(?<![\w-])(?!{_MONTH_WORDS}\b)(?:(?:{_WORD}|den|der|dem|am|an|im|auf|zum|zur|van|de|la|le)"
    rf" ){{1,4}}\d{{1,4}} ?[a-zA-Z]?, ?(?:[A-Z]{{1,2}}-)?\d{{4,5}} {_NAMEWORD}"
    rf"(?: (?:am|an der|im|bei) {_NAMEWORD})?"
)
TURKISH = re.compile(
    rf"(?<![\w-])(?:{_WORD}\s(?:Mahallesi|Mah\.),?\s)?{_WORD}\s(?:Caddesi|Cad\.|Cd\.|Sokak|"
    r"Sokağı|Sk\.|Sok\.|Bulvarı|Blv\.)\s?,?\s?(?:No\s?[:.]?\s?)?\d{1,4}(?:/\d{1,4})?"
    rf"(?:,\s?{_WORD}){{0,2}}(?:,?\s\d{{5}})?(?:\s?/\s?{_WORD})?"
)

_ROMANCE_TYPES = (
    r"rue|avenue|av\.|bd|boulevard|place|chemin|allée|impasse|quai|route|cours|passage|calle|"
    r"c/|avenida|avda\.?|paseo|plaza|carrer|camino|carretera|ronda|via|viale|piazza|piazzale|"
    r"corso|largo|vicolo|strada|rua|travessa|praça|estrada|alameda|ulica|ul\.|aleja|al\.|plac|"
    r"calea|bulevardul|jl\.|jalan|đường|phố"
)
_PARTICLE = r"(?:de|du|des|la|le|les|di|da|do|dos|das|del|della|delle|dei|degli|y|e|i|von)"
_ROMANCE_NAME = rf"(?:{_PARTICLE}\s|[dl]['’])*(?:[dl]['’])?{_WORD}"
_ROMANCE_CITY = (
    r"(?:,?\s?(?:\d{5}(?:-\d{3})?|\d{4}-\d{3}|\d{2}-\d{3}|\d{4})\s"
    rf"{_NAMEWORD}(?: (?:{_NAMEWORD}|de|del|di|sur|en|am)){{0,3}}"
    rf"|(?: ?[-–,] ?{_NAMEWORD}(?: (?:{_NAMEWORD}|de|do|da|del|di)){{0,3}}){{1,3}}"
    r"(?:\s?[-,]\s?[A-Z]{2}\b)?(?:,?\s(?:\d{5}(?:-\d{3})?|\d{2}-\d{3}))?)?"
)
ROMANCE = re.compile(
    rf"(?<![\w-])(?:(?P<num>\d{{1,4}}(?:\s?(?:bis|ter|[A-Za-z]))?),?\s)?"
    rf"(?:(?i:{_ROMANCE_TYPES})\s{_ROMANCE_NAME}(?:\s{_ROMANCE_NAME}){{0,5}}|Gran V[ií]a|La Rambla)"
    r"(?(num)|(?P<after>,?\s?(?:n[º°o.]?\s?|No\.?\s?|nº\s?)?\d{1,5}[a-zA-Z]?(?:[-/]\d{1,4})?\b)?)"
    r"(?:,?\s?\d{1,2}[º°ª]\s?[A-Za-z]?\b)?"
    rf"{_ROMANCE_CITY}(?:,\s?(?:{_COUNTRIES}))?"
)
CYRILLIC = re.compile(
    r"(?:\d{6},?\s?)?(?:(?:(?:г\.|город|м\.|місто)\s?)?[А-ЯЁІЇЄ][\w-]+,\s?)?"
    r"(?:(?:ул\.|улица|пр\.|пр-т|пр-кт|просп\.|проспект|пер\.|переулок|бул\.|бульвар|ш\.|шоссе|"
    r"наб\.|набережная|пл\.|площадь|вул\.|вулиця|мкр\.?)\s?[А-ЯЁІЇЄ0-9][\w.-]*"
    r"(?:\s[А-ЯЁІЇЄа-яёіїє][\w.-]*){0,2}?"
    r"|[А-ЯЁІЇЄ][\w-]+\s(?:улица|проспект|переулок|бульвар|шоссе|набережная|площадь|вулиця))"
    r",?\s?(?:д\.|дом|буд\.|будинок)?\s?\d{1,4}[а-яА-Я]?(?:/\d{1,4})?\b"
    r"(?:,?\s?(?:к\.|корп\.|корпус|стр\.|строение)\s?\d{1,3})?"
    r"(?:,?\s?(?:кв\.|квартира|оф\.|офис)\s?\d{1,4})?"
    r"(?:,\s?(?:г\.\s?)?[А-ЯЁІЇЄ][\w-]+)?(?:,?\s?\d{6})?"
)
GREEK = re.compile(
    r"(?:(?:[Οο]δός|[Οο]δ\.|[Λλ]εωφόρος|[Λλ]εωφ\.|[Ππ]λατεία|Πλ\.)\s)?[Α-ΩΆ-Ώ][\w.]+"
    r"(?:\s[Α-ΩΆ-Ώ][\w.]+){0,2}\s\d{1,4}[α-ω]?,\s?(?:\d{3}\s?\d{2}\s)?[Α-ΩΆ-Ώ][\w]+"
    r"(?:,?\s\d{3}\s?\d{2})?"
    r"|(?:[Οο]δός|[Λλ]εωφόρος|[Λλ]εωφ\.)\s[Α-ΩΆ-Ώ][\w.]+(?:\s[Α-ΩΆ-Ώ][\w.]+){0,2}\s\d{1,4}"
)
ARABIC = re.compile(
    r"(?:[\d٠-٩]{1,5}\s)?(?:شارع|طريق|جادة|ش\.)\s[\u0621-\u064A]+(?:\s[\u0621-\u064A]+){0,3}"
    r"(?:\s?[،,]?\s?(?:رقم\s?|مبنى\s?)?[\d٠-٩]{1,5})?(?:\s?[،,]\s?(?:حي\s)?[\u0621-\u064A]+"
    r"(?:\s[\u0621-\u064A]+)?){0,2}(?:\s?[\d٠-٩]{5})?"
)
HEBREW = re.compile(
    r"(?:רחוב|רח['׳]|שדרות|שד['׳]|דרך)\s[\u05D0-\u05EA\"'׳״-]+(?:\s[\u05D0-\u05EA\"'׳״-]+){0,2}?"
    r"\s\d{1,4}(?:,\s?[\u05D0-\u05EA-]+(?:\s[\u05D0-\u05EA-]+)?)?(?:,?\s?\d{5,7})?"
)
DEVANAGARI = re.compile(
    r"(?:मकान\s?(?:नं\.?|नंबर|संख्या)\s?)?[\d०-९]{1,5}(?:/[\d०-९]{1,4})?,?\s"
    r"(?:[\u0900-\u0963\u0966-\u097F]+\s){1,3}?(?:मार्ग|रोड|गली|सड़क|नगर|चौक|कॉलोनी|लेन)"
    r"(?:,\s?[\u0900-\u0963\u0966-\u097F]+(?:\s[\u0900-\u0963\u0966-\u097F]+){0,2}){0,3}"
    r"(?:\s?[-–]?\s?[\d०-९]{6})?"
)
_HAN = r"\u4e00-\u9fff"
_NUM = r"0-9０-９一二三四五六七八九十百零"
CHINESE = re.compile(
    rf"(?:\d{{6}}\s?)?(?:[{_HAN}]{{2,7}}?(?:省|自治区|特别行政区|市))?(?:[{_HAN}]{{1,7}}?(?:市|区|县|镇|乡))*"
    rf"[{_HAN}{_NUM}]{{1,10}}?(?:路|街|大道|道|巷|胡同|大街)[{_NUM}]+号"
    rf"(?:[{_HAN}{_NUM}]{{0,6}}?(?:院|楼|栋|幢|单元|室|层|号))*(?:[，,]?\s?邮编[:：]?\s?\d{{6}})?"
)
JAPANESE = re.compile(
    r"(?:〒\s?\d{3}-\d{4}\s?)?(?:東京都|北海道|大阪府|京都府|[\u4e00-\u9fff]{2,3}県)"
    r"[\u4e00-\u9fff\u3040-\u30ff]{1,8}?[市区町村郡][\u4e00-\u9fff\u3040-\u30ff]{0,8}?"
    r"[0-9０-９]+(?:丁目)?(?:[-－−‐][0-9０-９]+|[0-9０-９]+番地?)?(?:[-－−‐]?[0-9０-９]+号?)?"
)
KOREAN = re.compile(
    r"(?:\(\d{5}\)\s?)?(?:[가-힣]{2,6}(?:특별시|광역시|특별자치시|도)\s)?[가-힣]{1,6}(?:시|군|구)\s"
    r"(?:[가-힣]{1,6}(?:구|동|읍|면)\s)?[가-힣0-9]{0,10}[가-힣0-9](?<!으)(?:로|길)\s?\d{1,5}"
    r"(?:-\d{1,5})?(?:번길\s?\d{1,5})?(?:,?\s?\d{1,5}(?:동|호|층))*(?:\s?\(\d{5}\))?"
)
THAI = re.compile(
    r"\d{1,4}(?:/\d{1,4})?\s(?:ถนน|ถ\.|ซอย|ซ\.|หมู่(?:ที่)?\s?\d+)[\u0e01-\u0e4e\d]*"
    r"(?:\s(?:ตำบล|ต\.|แขวง|อำเภอ|อ\.|เขต|จังหวัด|จ\.)?[\u0e01-\u0e4e]+){0,4}(?:\s\d{5})?"
)
# Words a Chinese or Japanese address match may have picked up in front of the place name.
_CJK_LEAD = re.compile(r"^.*[在住是于到址：:的往从寄送搬为は、にでをが]")

# A unit or building before the house number: "Flat 5, ", "Flat 366, Sunrise Apartments, ".
_UNIT_BEFORE = re.compile(
    rf"(?:{_UNIT},?\s(?:{_WORD}(?:\s{_WORD}){{0,3}},\s?)?|{_WORD}(?:\s{_WORD}){{0,2}}\s"
    r"(?:Apartments|Tower|House|Building|Residency|Complex|Block|Heights|Mansions?|Enclave|"
    r"Society),\s?)$"
)


def _spaced(pattern: str) -> tuple[str, ...]:
    return tuple(" " + w.replace("\\", "") + " " for w in pattern.split("|"))


_SUFFIX_ENDINGS = tuple(w.replace("\\", "") for w in _SUFFIX_TYPES.split("|"))
_SPACE_DIGIT = re.compile(r"\s\d")


def _suffix_before_number(low: str) -> bool:
    """Is there a street suffix right before a number ("hauptstraße 5")? Cheap: a scan for
    " 5" and a tuple ``endswith``."""
    return any(low.endswith(_SUFFIX_ENDINGS, 0, m.start()) for m in _SPACE_DIGIT.finditer(low))


def _any_word(words: tuple[str, ...]):
    """A check that one of ``words`` (each " word ") is in the text: one regex scan."""
    gate = re.compile("|".join(re.escape(w.strip()) + r"[ ,]" for w in words))
    return lambda low: gate.search(low) is not None


# Probes, run on the lower-cased text, say where the patterns after the number-first one may
# match: (a cheap check that must pass first, the probe, the pattern, the characters before and
# after a probe's match to search).
_PROBES = tuple(
    (check, re.compile(probe), pattern, margin)
    for check, probe, pattern, margin in (
        (
            _any_word((" box ", " postfach ", " apartado ")),
            r"p\.?\s?o\.?\s?box|postfach|apartado",
            PO_BOX,
            (4, 160),
        ),
        (_suffix_before_number, rf"(?:{_SUFFIX_TYPES})\s\d", SUFFIXED, (60, 100)),
        (lambda low: "," in low, r"\d,\s?(?:[a-z]{1,2}-)?\d{4,5}\s", POSTCODE_CITY, (60, 80)),
        (
            lambda low: any(w in low for w in ("cad", "cd.", "sok", "sk.", "bulvar", "blv.")),
            r"caddesi|cad\.|cd\.|sokak|sokağı|sk\.|sok\.|bulvarı|blv\.",
            TURKISH,
            (60, 100),
        ),
        (
            _any_word(_spaced(_ROMANCE_TYPES) + (" gran vía", " gran via", " la rambla")),
            rf"(?:{_ROMANCE_TYPES})\s|gran v[ií]a|la rambla",
            ROMANCE,
            (12, 140),
        ),
    )
)


_EN_GATE = re.compile(rf"\s(?:{_EN_TYPES})\b")  # what ENGLISH needs: a street type after a space


def find_addresses(text: str, low: str) -> Iterator[Span]:
    for m in ENGLISH.finditer(text) if _EN_GATE.search(text) else ():
        start = m.start()
        unit = _UNIT_BEFORE.search(text, max(0, start - 48), start)
        yield "ADDRESS", unit.start() if unit else start, _trim(text, start, m.end())
    for check, probe, pattern, (before, after) in _PROBES:
        if not check(low):
            continue
        searched = -1
        for hit in probe.finditer(low):
            if hit.start() < searched:
                continue
            window = (max(0, hit.start() - before), min(len(text), hit.end() + after))
            searched = window[1]
            for m in pattern.finditer(text, *window):
                if pattern is ROMANCE and not (m.group("num") or m.group("after")):
                    continue
                yield "ADDRESS", m.start(), _trim(text, m.start(), m.end())
    if not text.isascii():
        yield from _script_addresses(text)


def _script_addresses(text: str) -> Iterator[Span]:
    for pattern, needle in _SCRIPT_PATTERNS:
        if needle.search(text):
            for m in pattern.finditer(text):
                start = m.start()
                if pattern is CHINESE or pattern is JAPANESE:
                    lead = _CJK_LEAD.match(m.group())
                    start += lead.end() if lead and lead.end() < len(m.group()) - 3 else 0
                yield "ADDRESS", start, _trim(text, start, m.end())


def _trim(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " ,.;:-–،":
        end -= 1
    return end


_SCRIPT_PATTERNS = (
    (
        CYRILLIC,
        re.compile(
            r"ул\.|улиц|пр\.|проспект|пер\.|переул|бул|шоссе|наб\.|набереж|пл\.|"
            r"площад|вул|мкр"
        ),
    ),
    (GREEK, re.compile(r"[Α-Ωα-ωΆ-ώ]+\s\d{1,4}")),
    (ARABIC, re.compile(r"شارع|طريق|جادة|ش\.")),
    (HEBREW, re.compile(r"רחוב|רח['׳]|שדרות|שד['׳]|דרך")),
    (DEVANAGARI, re.compile(r"मार्ग|रोड|गली|सड़क|नगर|चौक|कॉलोनी|लेन")),
    (CHINESE, re.compile(r"[路街道巷同][0-9０-９一二三四五六七八九十百零]+号")),
    (JAPANESE, re.compile(r"[都道府県]")),
    (KOREAN, re.compile(r"[로길]\s?\d")),
    (THAI, re.compile(r"ถนน|ซอย|หมู่|ถ\.")),
)
