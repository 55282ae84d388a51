"""Person names in cased scripts (Latin, Cyrillic, Greek), from name lists plus context rules.

No PyPI package ships a multilingual name model, so names are found the way a careful reader
would: a run of capitalised words is a name when it holds a known given name ("Anna Kowalska"),
a known surname beside another capitalised word ("Zorba Papadopoulos"), a Cyrillic patronymic
("Иван Петрович"), or when a cue precedes it: a title (Mr, Dr, Herr, Mme, г-н, κ.), a phrase
("my name is", "je m'appelle", "меня зовут") or a closing ("Regards,"). Names that are also
ordinary words ("May", "Will", "Grace", "Bill") need a cue or a neighbouring name. Caseless
scripts (Arabic, Hebrew, Devanagari, CJK, Hangul) are handled in ``pii_names_world``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tunelab.data import pii_lexicon_latin as latin
from tunelab.data.pii_lexicon_cues import (
    GERMANIC_WORDS,
    GREETINGS,
    ISLAND,
    NOT_PERSON_WORDS,
    STRONG,
    STRONG_COLON,
    TITLES,
    WEAK,
)
from tunelab.data.pii_name_words import (
    GIVEN,
    GIVEN_AMBIGUOUS,
    INITIAL,
    LETTER,
    NAMEISH,
    STOP,
    SURNAME,
    SURNAME_AMBIGUOUS,
    SURNAME_KINDS,
    SURNAME_SHAPE,
    UNKNOWN,
    UPPER,
    classify,
    fold,
)
from tunelab.data.pii_names_cued import AHEAD_WORDS, cued_lowercase_names
from tunelab.data.pii_names_world import find_caseless_names, known_caseless_name

Span = tuple[str, int, int]


# A capitalised word: letters with inner apostrophes or hyphens ("O'Brien", "Jean-Luc"),
# optionally after a particle glued with a hyphen or apostrophe ("al-Rashid", "d'Angelo").
TOKEN = re.compile(rf"{UPPER}(?:\.(?!{LETTER})|(?:{LETTER}|['’-](?={LETTER}))*)")
_GLUED = frozenset("'’-_")
_PARTICLE_BEFORE = re.compile(
    r"(?<![\w'’-])(?:al|el|ad|as|an|bin|ibn|d|l|van|de|di|da|du|le|la)['’-]$"
)
# Words that make the next capitalised word a place, and words after a name that make the
# whole a place or an institution ("San Francisco", "George Street", "Anna University").
_PLACE_LEAD = frozenset(
    "san santa santo sao st saint sainte fort port mount mt lake cape puerto porto villa "
    "ciudad bad sankt new el los las".split()
)
_PLACE_AFTER = re.compile(
    r"\s(?:Street|St\b|Avenue|Ave\b|Road|Rd\b|Lane|Drive|Boulevard|Square|Park|Place|Bridge|"
    r"Station|Hospital|University|College|School|Academy|Church|Cathedral|Hotel|Airport|Center|"
    r"Centre|Museum|Building|Tower|Hall|Bay|River|Lake|Mountain|Island|Islands|County|City|"
    r"Foundation|Institute|Award|Prize|Day|Act|Law|Effect|Syndrome|Theorem|Inc|Ltd|LLC|GmbH|"
    r"Corporation|Company|Group|Bank|Stadium|Arena|Street|Straße|Strasse|Platz|Gasse|Allee)\b"
)


TITLE, STRONG_CUE, WEAK_CUE = 1, 2, 3
# The last word of every cue phrase: a quick "no" for the words before most capitalised words.
_LAST_WORDS = frozenset(
    p.split()[-1] for p in STRONG | STRONG_COLON | ISLAND if p.split()
) | frozenset(p.split()[-1].rstrip(",:;：!—-") for p in STRONG_COLON | ISLAND if p.split())


def _cue(before: str, weak: frozenset[str] = WEAK) -> int:
    """What the words just before a capitalised word say: a title, a strong or weak cue."""
    if not before[-1:].isspace():
        return 0
    last = before.rstrip()
    last = last[max(last.rfind(" "), last.rfind("\n"), last.rfind("\t")) + 1 :]
    if last in TITLES:
        return TITLE
    if last.lower().rstrip(",:;：!—-") not in _LAST_WORDS and last.lower() not in _LAST_WORDS:
        return 0  # most words end no cue: no need to look further
    words = before.split()[-4:]
    low = [w.lower() for w in words]
    for k in range(len(low), 0, -1):
        phrase = " ".join(low[-k:])
        if phrase in STRONG_COLON:
            return STRONG_CUE
        bare = phrase.rstrip(",:;：!—-")
        if bare in STRONG:
            return STRONG_CUE
        if bare in weak:
            return WEAK_CUE
    return 0


def find_names(text: str, low: str) -> Iterator[Span]:
    """Every person name found in ``text`` (``low`` is ``text.lower()``), in any script."""
    if not text.islower():  # all lower case: no capitalised word to start a name
        yield from _cased_names(text)
    if any(cue in low for cue in AHEAD_WORDS):
        yield from cued_lowercase_names(text, low)
    if not text.isascii():
        yield from find_caseless_names(text)
        yield from _foreign_names_after_cues(text)


# Words of a caseless script (Hebrew, Arabic, Devanagari, Bengali, Thai, kana, CJK, Hangul).
_CASELESS = (
    "\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0980-\u09ff\u0e00-\u0e7f\u3040-\u30ff"
    "\u4e00-\u9fff\uac00-\ud7a3"
)
_FOREIGN_RUN = re.compile(rf"[{_CASELESS}]+(?:[ \u3000][{_CASELESS}]+){{0,2}}")


def _foreign_names_after_cues(text: str) -> Iterator[Span]:
    """A name in another script after a title or strong cue of the text around it ("Regards,
    สมชาย กิตติศักดิ์", "The user's name is 郭一诺", "Patient: 渡辺 健一"); or a short island of
    another script in Latin text, after a weak cue or holding a known name ("The Guarantor,
    林超, SSN", "Open a ticket: קפלן הילה (+44 ...)")."""
    for m in _FOREIGN_RUN.finditer(text):
        words = m.group().split()
        if len(words) == 1 and len(words[0]) > (4 if _HAN_OR_KANA.match(words[0]) else 16):
            continue  # a sentence, not a name
        before = text[max(0, m.start() - 40) : m.start()]
        cue = _cue(before.rstrip(" \t\n\"'“(") + " ", ISLAND) if before.strip() else 0
        if cue in (TITLE, STRONG_CUE):
            yield "PERSON", m.start(), m.end()
        elif len(words) <= 3 and _island(text, m.start(), m.end()):
            if cue == WEAK_CUE or any(known_caseless_name(w) for w in words):
                yield "PERSON", m.start(), m.end()


def _island(text: str, start: int, end: int) -> bool:
    """Is ``text[start:end]`` set in Latin text (or alone), not part of a sentence in its script?"""
    head = text[max(0, start - 12) : start].rstrip(" \t\n,:;\"'“(«")
    tail = text[end : end + 12].lstrip(" \t\n,.:;!?\"'”)»")
    if not head and not tail:
        return False  # the whole text: a sentence in its own script
    return (not head or head[-1].isascii()) and (not tail or tail[0].isascii())


_HAN_OR_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _cased_names(text: str) -> Iterator[Span]:
    tokens: dict[int, tuple[int, int]] = {}  # start or end -> (other end, class)
    for _, start, end in _runs_of_names(text, tokens):
        yield "PERSON", *_with_comma_surname(text, start, end, tokens)
    for start, (end, kind) in list(tokens.items()):  # "Marković, Šárka": surname, given
        if start < 0 or text[end : end + 2] != ", " or (given := tokens.get(end + 2)) is None:
            continue
        if kind in SURNAME_KINDS and given[1] in (UNKNOWN, GIVEN, GIVEN_AMBIGUOUS, INITIAL):
            if not _PLACE_AFTER.match(text, given[0]):
                yield "PERSON", start, given[0]
        elif kind == UNKNOWN and given[1] == GIVEN and not _sentence_start(text, start):
            if text[given[0] : given[0] + 1] in ("", ",", ".", ";", "(", "\n"):
                yield "PERSON", start, given[0]  # "an email for Čapek, Tomáš, personal ..."


def _runs_of_names(text: str, tokens: dict) -> Iterator[Span]:
    run: list[tuple[int, int, int]] = []  # (start, end, class)
    last_end = -1
    for m in TOKEN.finditer(text):
        start, word = m.start(), m.group()
        if word[-2:] in ("'s", "’s") and len(word) > 3:
            word = word[:-2]
        if start and (text[start - 1].isalnum() or text[start - 1] in _GLUED):
            particle = _PARTICLE_BEFORE.search(text, max(0, start - 4), start)
            if particle is None:
                continue  # inside a word: "iPhone", "3D", "snake_Case"
            start, word = particle.start(), particle.group() + word
        end = start + len(word)
        if (
            run
            and not (start - last_end == 1 and text[last_end] == " ")
            and not _joined(text[last_end:start])
        ):
            if len(run) > 1 or run[0][2] != STOP:
                yield from _names_in_run(text, run)
            run = []
        kind = classify(word)
        run.append((start, end, kind))
        last_end = end
        if text[start - 2 : start] == ", " or text[end : end + 2] == ", ":
            tokens[start], tokens[-end] = (end, kind), (start, kind)  # for "Surname, Given"
    if run and (len(run) > 1 or run[0][2] != STOP):
        yield from _names_in_run(text, run)


def _with_comma_surname(text: str, start: int, end: int, tokens: dict) -> tuple[int, int]:
    """ "Ionescu, Tomáš", "Hartmann, Günter": a surname, a comma, then a given name."""
    if text[start - 2 : start] != ", " or -(start - 2) not in tokens:
        return start, end
    surname_start, kind = tokens[-(start - 2)]
    if tokens.get(start, (0, STOP))[1] != GIVEN:
        return start, end
    if kind in (SURNAME, SURNAME_SHAPE, SURNAME_AMBIGUOUS) or (
        kind == UNKNOWN
        and _cue(text[max(0, surname_start - 40) : surname_start]) in (TITLE, STRONG_CUE)
    ):
        return surname_start, end
    return start, end


_JOINED_GAP = 2 * max(map(len, latin.PARTICLES)) + 3


def _joined(gap: str) -> bool:
    """Do two capitalised words separated by ``gap`` belong to one name?"""
    if gap in (" ", "\u00a0") or gap == "":
        return True
    if len(gap) > _JOINED_GAP or gap[:1] != " ":
        return False  # longer than two particles: most gaps between capitalised words
    words = gap.split()
    return (
        gap[:1] == " "
        and gap[-1:] == " "
        and 0 < len(words) <= 2
        and all(w in latin.PARTICLES for w in words)
    )


def _names_in_run(text: str, run: list[tuple[int, int, int]]) -> Iterator[Span]:
    """Split a run of adjacent capitalised words at stop words and judge each part."""
    if len(run) == 1:  # most runs: one capitalised word
        accepted = _judge(text, run) if run[0][2] != STOP else None
        if accepted:
            yield "PERSON", accepted[0], accepted[1]
        return
    part: list[tuple[int, int, int]] = []
    for item in [*run, (0, 0, STOP)]:
        if item[2] != STOP:
            part.append(item)
            continue
        for at in range(0, len(part), 4):  # a name has at most four words
            accepted = _judge(text, part[at : at + 4])
            if accepted:
                yield "PERSON", accepted[0], accepted[1]
        part = []


def _judge(text: str, part: list[tuple[int, int, int]]) -> tuple[int, int] | None:
    """Is this run of capitalised words (or its tail) a name? Returns its span."""
    if len(part) == 1 and part[0][2] == UNKNOWN:  # one word no list knows: only a cue says so
        start, end = part[0][0], part[0][1]
        if not text[start - 1 : start].isspace():
            return None  # right after punctuation or at the start
        before = text[max(0, start - 40) : start]
        if _cue(before) in (TITLE, STRONG_CUE):
            return start, end
        if _GREETING_END.match(text, end) and _greeting(before):
            return start, end  # "Grazie, Niccolò!", "Hi Çağla,", "Vielen Dank, Käthe!"
        return None
    classes = [c for _, _, c in part]
    whole = part[0][0], part[-1][1]
    before = text[max(0, part[0][0] - 40) : part[0][0]]
    cue = _cue(before)
    if cue in (TITLE, STRONG_CUE):
        return whole
    if _place(text, part, before):
        return None
    if cue == WEAK_CUE and classes[0] != INITIAL:
        if any(c in NAMEISH for c in classes) or len(part) >= 2:
            return whole
    if GIVEN in classes:
        first = classes.index(GIVEN)
        while first > 0 and classes[first - 1] in NAMEISH:
            first -= 1
        return part[first][0], whole[1]
    for i, kind in enumerate(classes):
        if kind not in SURNAME_KINDS:
            continue
        if i == 0:
            if len(part) > 1 and classes[1] in SURNAME_KINDS | {SURNAME_AMBIGUOUS, INITIAL}:
                return whole  # "García López", "Иванов И. И."
            continue
        prev = classes[i - 1]
        cased_script = text[part[i - 1][0]] > "\u036f"  # Cyrillic, Greek: no sentence-case doubt
        if prev in (INITIAL, GIVEN_AMBIGUOUS, SURNAME, SURNAME_AMBIGUOUS) or (
            prev == UNKNOWN
            and (kind == SURNAME or cased_script or not _sentence_start(text, part[i - 1][0]))
        ):
            if kind == SURNAME or prev != INITIAL:
                first = i - 1  # "I met Zorba Papadopoulos", "J. Smith", "Will K. Moore"
                while first > 0 and classes[first - 1] in (INITIAL, GIVEN_AMBIGUOUS):
                    first -= 1
                return part[first][0], whole[1]
    if len(part) >= 2 and _SPEAKING.match(text, whole[1]):
        return whole  # "Femke Jansen speaking", "Eline here"
    if _PERSON_AFTER.match(text, whole[1]) and any(c in NAMEISH for c in classes):
        return whole  # "Mark Walker (DOB ...)", "Bill Walker, personal email ..."
    if _looks_like_full_name(text, part, before):
        return whole  # "Please forward it to Ottilie Brennecke by Friday."
    if len(part) == 3 and classes[0] in (GIVEN_AMBIGUOUS, SURNAME_AMBIGUOUS):
        return _judge(text, part[1:])  # "Can Ottilie Brennecke join?": "Can" is a word here
    return None


def _looks_like_full_name(text: str, part: list[tuple[int, int, int]], before: str) -> bool:
    """Two or three title-case words no list knows, inside a sentence, that read like a given
    name and a surname rather than a product, a place or a heading ("Visual Studio Code",
    "Galaxy Tab S9", "Chief Complaint:", "the Eiffel Tower")."""
    if not 2 <= len(part) <= 3 or any(c not in _OPEN_CLASSES for _, _, c in part):
        return False
    words = [text[s:e] for s, e, _ in part]
    if not all(_title_case(w) for w in words) or any(fold(w) in NOT_PERSON_WORDS for w in words):
        return False
    after = text[part[-1][1] : part[-1][1] + 3]
    if _NOT_AFTER_NAME.match(after):
        return False
    last = before.split()[-1:] if before.strip() else []
    if not last or last[0][-1:] in ".!?:":  # at the start of a sentence: a verb must follow
        return _SUBJECT_VERB.match(text, part[-1][1]) is not None and _latin_context(text, part)
    if not text[part[0][0] - 1 : part[0][0]].isspace():
        return False
    if last[0].lower() in _DETERMINERS or last[0].isdigit():
        return False  # "the Eiffel Tower", "3 Millionen"
    if last[0][:1].isupper() and not _sentence_start(text, part[0][0] - len(last[0]) - 1):
        return False  # "The Great Barrier Reef": inside a longer proper name
    near = before.lower().split()[-3:] + text[part[-1][1] : part[-1][1] + 40].lower().split()[:3]
    if any(w.strip(",.;:!?") in GERMANIC_WORDS for w in near):
        return False  # German and Dutch capitalise nouns: "auf 3 Millionen Beispielen"
    return last[0][-1] < "\u0250"  # in a Latin sentence: elsewhere Latin words are brands


def _latin_context(text: str, part: list[tuple[int, int, int]]) -> bool:
    following = text[part[-1][1] : part[-1][1] + 40].lower().split()[:3]
    return not any(w.strip(",.;:!?") in GERMANIC_WORDS for w in following)


# Verbs that follow a person as the subject of a sentence: "Ottilie Brennecke called ...".
_SUBJECT_VERB = re.compile(
    r" (?:called|phoned|emailed|wrote|said|asked|sent|replied|confirmed|reported|requested|"
    r"complained|mentioned|joined|left|signed|paid|ordered|booked|cancelled|canceled|moved|"
    r"lives|works|is|was|has|had|will|would|can|could|needs|wants|wanted|visited|arrived|"
    r"submitted|approved|agreed|declined|forwarded|shared|owns|rents|manages|leads)\b"
)
_OPEN_CLASSES = {UNKNOWN, SURNAME_SHAPE, SURNAME_AMBIGUOUS}
_NOT_AFTER_NAME = re.compile(r"\s?(?:[A-Z]?\d|:|\(\d|[A-Z]{2})|\n")
_DETERMINERS = frozenset(
    "the a an my your our his her their this that these those its new old any some every "
    "each no our de la le les el los las der die das den dem des het een il lo gli un une "
    "via using use in on at into from".split()
)


def _title_case(word: str) -> bool:
    parts = re.split(r"['’-]", word)
    return all(p[:1].isupper() and p[1:].islower() and len(p) >= 2 for p in parts if p)


_PERSON_AFTER = re.compile(
    r"\s?(?:\((?:dob|d\.o\.b|date of birth|born|b\.|age|aged|my name|née|geb\.)|,\s(?:born|aged|"
    r"age \d|dob|date of birth|personal email|email|e-mail|phone|mobile|ssn|who lives|residing)"
    r"|\s(?:was born|is a \d+-year-old|is \d+ years old))",
    re.I,
)
_SPEAKING = re.compile(
    r"[ ,]+(?:speaking|here\b|hier\b|à l'appareil|al habla|am apparat|aan de lijn|al telefono|"
    r"falando|z tej strony|у телефона)"
)


_GREETING_END = re.compile(r"\s*(?:[,!:;]|\.(?:\s|$)|\n|$)")


def _greeting(before: str) -> bool:
    """Do the words before (or the start of this sentence) greet or thank someone?"""
    low = before.lower().replace(",", " ").replace("¡", " ").replace("¿", " ")
    words = low.split()[-3:]
    if any(" ".join(words[-k:]) in GREETINGS for k in range(1, len(words) + 1)):
        return True
    sentence = re.split(r"[.!?\n]", low)[-1].split()[:3]  # "Thanks for your patience, Đorđe."
    return any(" ".join(sentence[:k]) in GREETINGS for k in range(1, len(sentence) + 1))


def _place(text: str, part: list[tuple[int, int, int]], before: str) -> bool:
    """ "San Francisco", "George Street", "Anna University": a place or institution."""
    if _PLACE_AFTER.match(text, part[-1][1]):
        return True
    if fold(text[part[0][0] : part[0][1]]) in _PLACE_LEAD:
        return True
    lead = before.rstrip().rsplit(None, 1)[-1:] if before.endswith(" ") else []
    return bool(lead) and fold(lead[0]) in _PLACE_LEAD


def _sentence_start(text: str, at: int) -> bool:
    head = text[max(0, at - 3) : at].rstrip(" \"'“«(")
    return not head or head[-1] in ".!?\n\t;"
