"""Person names written in lower case after a strong cue ("my name is john smith", "меня зовут
иван петров"): only words the name lists know are taken. Used by ``pii_names``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tunelab.data.pii_name_words import GIVEN, GIVEN_AMBIGUOUS, LETTER, SURNAME, classify

Span = tuple[str, int, int]

_CUED_WORD = re.compile(rf"{LETTER}(?:{LETTER}|['’-](?={LETTER}))*")


def cued_lowercase_names(text: str, low: str) -> Iterator[Span]:
    """'my name is john smith': after a strong cue, known names in any case."""
    for m in _STRONG_CUE_AHEAD.finditer(low):
        pos, end = m.end(), None
        allowed = {GIVEN, SURNAME} | ({GIVEN_AMBIGUOUS} if "name" in m.group() else set())
        for _ in range(3):
            w = _CUED_WORD.match(text, pos)
            if not w or classify(w.group().capitalize()) not in allowed:
                break
            end, pos = w.end(), w.end() + 1
            if text[w.end() : w.end() + 1] != " ":
                break
        if end is not None:
            yield "PERSON", m.end(), end


AHEAD_WORDS = (
    "name is",
    "i am",
    "i'm",
    "call me",
    "appelle",
    "heiße",
    "llamo",
    "chiamo",
    "chamo",
    "nome é",
    "зовут",
    "звати",
)
_STRONG_CUE_AHEAD = re.compile(
    r"(?:\bmy name is|\bi am|\bi'm|\bcall me|\bje m'appelle|\bich heiße|\bme llamo|"
    r"\bmi chiamo|\bme chamo|\bmeu nome é|\bменя зовут|\bмене звати)\s"
)
