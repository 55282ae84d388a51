"""How one capitalised word counts as a name part: a known given name or surname (with its
case ending removed for Cyrillic and Greek), a name that is also a word ("May"), an initial, a
surname by its shape ("-ová", "-escu", "-енко", "-όπουλος"), a stop word, or unknown. Used by
``pii_names``; the lists live in ``pii_lexicon_latin`` and ``pii_lexicon_world``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tunelab.data import pii_lexicon_latin as latin
from tunelab.data import pii_lexicon_world as world


def _upper_class() -> str:
    """A character class of every upper-case letter in the Latin, Greek and Cyrillic blocks."""
    chars = [chr(i) for i in range(0x41, 0x530) if chr(i).isupper()]
    chars += [chr(i) for i in range(0x1E00, 0x1F00) if chr(i).isupper()]  # Vietnamese
    return "[" + "".join(re.escape(c) for c in chars) + "]"


UPPER = _upper_class()
LETTER = r"[^\W\d_]"

_INITIAL = re.compile(rf"^{UPPER}\.$")
_CYR_PATRONYMIC = re.compile(
    r"^[а-яё]+(?:ович|евич|ич|овна|евна|ична|инична)(?:а|у|ем|ом|е|ы|ой|ей|ну|не|ны)?$"
)
_CYR_SURNAME_SHAPE = re.compile(
    r"(?:ов|ев|ёв|ин|ын|ский|цкий|ская|цкая|енко|чук|юк|ук|швили|дзе|ян)"
    r"(?:а|у|ым|ой|ого|ому|ом|е|ы|их|им|ую)?$"
)
_CYR_ENDINGS = (
    "",
    "а",
    "я",
    "у",
    "ю",
    "е",
    "ы",
    "и",
    "ой",
    "ей",
    "ом",
    "ем",
    "ым",
    "им",
    "ого",
    "его",
    "ому",
    "ему",
    "ую",
    "ою",
)
_GREEK_SURNAME_SHAPE = re.compile(r"(?:πουλ|ιδ|ιαδ|ακ|ατ|ογλ|ελλ|ιν)(?:ος|ου|ο|ης|η|ου|ων)$")
_GREEK_ENDINGS = ("", "ς", "ο", "ου", "α", "ας", "η", "ης", "ε", "ων")


def fold(word: str) -> str:
    """Lower case without diacritics (Latin, Greek); Cyrillic keeps й and folds ё only."""
    word = word.lower()
    if word.isascii():
        return word
    if "\u0400" <= word[0] <= "\u04ff":
        return word.replace("ё", "е")
    word = word.translate(_LETTER_FOLDS)
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


# Letters that are not a base letter plus an accent, so NFD does not fold them.
_LETTER_FOLDS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i", "ð": "d"}
)


def _fold_set(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


def _cyrillic_surnames() -> frozenset[str]:
    base = _fold_set(world.CYRILLIC_SURNAMES)
    feminine = {w + "а" for w in base if w.endswith(("ов", "ев", "ин", "ын"))}
    feminine |= {w[:-2] + "ая" for w in base if w.endswith("ий")}
    return base | feminine


CYR_GIVEN = _fold_set(world.CYRILLIC_GIVEN)
CYR_AMBIGUOUS = _fold_set("вера надежда любовь роман лев марк слава")
CYR_SURNAMES = _cyrillic_surnames()
GREEK_GIVEN = _fold_set(world.GREEK_GIVEN)
GREEK_SURNAMES = _fold_set(world.GREEK_SURNAMES)
# Endings that mark a surname in many languages ("Horáková", "Kowalski", "Petrović",
# "Popescu", "Papadopoulos", "Eriksson", "Öztürkoğlu", "Virtanen"), on the folded word.
_LATIN_SURNAME_ENDINGS = tuple(
    "ova ska cka ski cki wicz ovic evic escu eanu shvili dze opoulos akis idis iadis sson oglu "
    "ainen inen ucci elli iene aite enko chuk wala swamy murthy krishnan mann huber berger bauer "
    "maier meier mayer meyer hofer egger leitner moser".split()
)
_ACCENTS = frozenset("áéíóú")
_MC = re.compile(r"^(?:Mc|Mac|Fitz)[A-Z][a-z]")
_ONE_LETTER_WORDS = frozenset("IAОВСКУЯИΟΗΤ")

# Token classes.
GIVEN, GIVEN_AMBIGUOUS, SURNAME, SURNAME_AMBIGUOUS, INITIAL, UNKNOWN, STOP, SURNAME_SHAPE = range(8)
NAMEISH = {GIVEN, GIVEN_AMBIGUOUS, SURNAME, SURNAME_AMBIGUOUS, INITIAL, SURNAME_SHAPE}
SURNAME_KINDS = {SURNAME, SURNAME_SHAPE}


@lru_cache(maxsize=65536)
def classify(word: str) -> int:
    """The class of one capitalised word (particles and possessives already removed)."""
    if _INITIAL.match(word):
        return INITIAL
    if len(word) > 40:
        return UNKNOWN  # no name word is this long
    if len(word) == 1:
        return STOP if word in _ONE_LETTER_WORDS else UNKNOWN
    key = fold(word.rstrip("."))
    first = word[0]
    if "\u0400" <= first <= "\u04ff":
        if _classify_inflected(key, _CYR_ENDINGS, "аяйь", CYR_AMBIGUOUS, frozenset()) == GIVEN:
            return GIVEN_AMBIGUOUS
        kind = _classify_inflected(key, _CYR_ENDINGS, "аяйь", CYR_GIVEN, CYR_SURNAMES)
        if kind == UNKNOWN and _CYR_PATRONYMIC.match(key):
            kind = GIVEN
        return SURNAME_SHAPE if kind == UNKNOWN and _CYR_SURNAME_SHAPE.search(key) else kind
    if "\u0370" <= first <= "\u03ff" or "\u1f00" <= first <= "\u1fff":
        kind = _classify_inflected(key, _GREEK_ENDINGS, "ςαηο", GREEK_GIVEN, GREEK_SURNAMES)
        if kind == UNKNOWN and (
            _GREEK_SURNAME_SHAPE.search(key) or (key.endswith("ου") and len(key) >= 5)
        ):
            return SURNAME_SHAPE  # "Παπαδόπουλος"; "Βλάχου", a woman's surname (genitive)
        return kind
    kind = _classify_latin(key)
    accented_ez = word.endswith("ez") and any(c in _ACCENTS for c in word[1:-2])
    if kind == UNKNOWN and (_MC.match(word) or accented_ez):
        kind = SURNAME_SHAPE
    if word.isupper() and len(word) <= 3 and kind in (GIVEN, SURNAME):
        return kind + 1  # "ANN", "SAM", "LEO": acronyms more often than names
    return kind


def _classify_latin(key: str) -> int:
    if key in latin.AMBIGUOUS_GIVEN_NAMES:
        return GIVEN_AMBIGUOUS
    if key in latin.NOT_NAMES:
        return STOP
    parts = key.split("-")
    if key in latin.GIVEN_NAMES or len(parts) > 1 and all(p in latin.GIVEN_NAMES for p in parts):
        return GIVEN
    if key in latin.AMBIGUOUS_SURNAME_SET:
        return SURNAME_AMBIGUOUS
    bare = re.sub(r"^(?:al|el|ad|as|an|bin|ibn|d|l|van|de|di|da|du|le|la|o)['’-]", "", key)
    if key in latin.SURNAME_SET or bare in latin.SURNAME_SET:
        return SURNAME
    shaped = len(key) >= 6 and key.isalpha() and key.endswith(_LATIN_SURNAME_ENDINGS)
    if bare != key or shaped or (len(key) >= 7 and key.endswith("kar")):
        return SURNAME_SHAPE  # "al-Rashid", "O'Connor", "Kowalczyk"
    return UNKNOWN


def _classify_inflected(key, endings, add, given, surnames) -> int:
    """Look a Cyrillic or Greek word up with its case ending removed (Ивана -> Иван)."""
    for ending in endings:
        if ending and not key.endswith(ending):
            continue
        stem = key[: len(key) - len(ending)] if ending else key
        for form in (stem, *(stem + a for a in add)):
            if form in given:
                return GIVEN
            if form in surnames:
                return SURNAME
    return UNKNOWN
