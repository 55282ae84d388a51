"""Person names in Chinese, Japanese, Korean and Thai, scripts without capitals and (but for
Korean) without spaces between words: a known surname, then given-name characters that a cue
(我叫, 私は, 제 이름은, ผมชื่อ), a title or honorific (先生, さん, 씨, นาย) or a list of given
names confirms. Used by ``pii_names_world``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tunelab.data import pii_lexicon_caseless as more
from tunelab.data import pii_lexicon_world as world
from tunelab.data.pii_caseless_words import thai_name_word

Span = tuple[str, int, int]

# Chinese: a surname, one or two given-name characters, and a cue or a title.
CJK_SURNAME = re.compile("|".join(sorted(world.CJK_SURNAMES, key=len, reverse=True)))
_CJK_TITLE = re.compile("|".join(sorted(world.CJK_TITLES, key=len, reverse=True)))
_CJK_CUE = re.compile(
    "(?:" + "|".join(sorted(world.CJK_CUES, key=len, reverse=True)) + r")[:：，,\s]?$"
)
# Words that often follow a name in Chinese: the name ends before them ("黄强咨询一下").
_CJK_FOLLOWERS = re.compile(
    "咨询|先生|女士|已经|打电话|发来|提交|申请|购买|订购|反馈|投诉|联系|询问|要求|需要|希望|想要|"
    "表示|确认|收到|签收|退款|付款|支付|登录|注册|修改|更新|预约|您好|你好|同学|老师|经理|刚才|刚刚"
)
_STRONG_CJK_CUES = (
    "我叫",
    "我是",
    "名叫",
    "叫做",
    "姓名",
    "名字是",
    "名字叫",
    "联系人",
    "聯繫人",
    "收件人",
    "寄件人",
    "签名",
    "簽名",
    "患者",
    "客户",
    "客戶",
)
HAN = re.compile(r"[\u4e00-\u9fff]")
# Characters that end a name: particles, pronouns and the verbs and time words that follow a
# subject ("王伟昨天打电话", "李娜说").
_CJK_STOP = frozenset(
    "的是在说了和与也都就把被给到从对向要会能去来请我你他她们这那有没不昨今已打告发写回看买"
    "负同提投让问想等将还又再才很太最吗呢吧啊，。！？、：；"
)
_COUNTERS = frozenset("一二三四五六七八九十两几每这那某")


def chinese_names(text: str) -> Iterator[Span]:
    """A surname and one or two given-name characters, with a title after it (先生, 经理), a cue
    before it (我叫, 联系人：), or given-name characters and a clear end without either."""
    for m in CJK_SURNAME.finditer(text):
        start, after = m.span()
        if start and text[start - 1] in _COUNTERS:
            continue
        if text[after : after + 1] in (" ", "\u3000") and HAN.match(text, after + 1):
            after += 1  # "梁 杰"
        titled = next((g for g in (2, 1, 0) if _titled(text, after, g)), None)
        if titled is not None:
            if titled or len(m.group()) == 1:
                yield "PERSON", start, after + titled
            continue
        given = _given_length(text, after)
        if given == 2 and _CJK_FOLLOWERS.match(text, after + 1):
            given = 1
        if not given:
            continue
        cue = _CJK_CUE.search(text, max(0, start - 6), start)
        strong = cue is not None and cue.group().rstrip(":： ").endswith(_STRONG_CJK_CUES)
        ends = _name_ends(text, after + given)
        listed = sum(c in world.CJK_GIVEN_CHARS for c in text[after : after + given])
        ambiguous = m.group() in world.CJK_AMBIGUOUS_SURNAMES
        if strong or (ends and listed and (cue or not ambiguous)):
            yield "PERSON", start, after + given


def _titled(text: str, at: int, given: int) -> bool:
    chars = text[at : at + given]
    if len(chars) < given or any(not HAN.match(c) or c in _CJK_STOP for c in chars):
        return False
    return _CJK_TITLE.match(text, at + given) is not None


def _given_length(text: str, at: int) -> int:
    n = 0
    while n < 2 and at + n < len(text) and HAN.match(text[at + n]):
        if text[at + n] in _CJK_STOP:
            break
        n += 1
    return n


def _name_ends(text: str, end: int) -> bool:
    nxt = text[end : end + 1]
    return (
        not nxt or not HAN.match(nxt) or nxt in _CJK_STOP or bool(_CJK_FOLLOWERS.match(text, end))
    )


JP_SURNAME = re.compile("|".join(sorted(world.JAPANESE_SURNAMES.split(), key=len, reverse=True)))
JP_GIVEN = re.compile("|".join(sorted(world.JAPANESE_GIVEN.split(), key=len, reverse=True)))
_JP_HONORIFIC = re.compile("|".join(sorted(world.JAPANESE_HONORIFICS, key=len, reverse=True)))
_JP_CUE = re.compile(r"(?:私は|わたしは|僕は|名前は|氏名[:：]?|担当の?|担当者[:：]?)\s?$")
_JP_AFTER = re.compile(r"(?:です|と申します|といいます|と言います|でございます)")


def japanese_names(text: str) -> Iterator[Span]:
    """A Japanese surname, perhaps a given name, then an honorific (さん, 様) or a
    self-introduction (と申します); or a surname and a known given name."""
    for m in JP_SURNAME.finditer(text):
        start, end = m.span()
        pos = end + (1 if text[end : end + 1] in (" ", "\u3000") else 0)
        given = JP_GIVEN.match(text, pos)
        if given:
            end = given.end()
        cued = _JP_CUE.search(text, max(0, start - 6), start) is not None
        stop = _jp_name_end(text, end, cued)
        if stop is not None:
            yield "PERSON", start, stop
        elif given or (cued and len(m.group()) >= 2):
            yield "PERSON", start, end


def _jp_name_end(text: str, end: int, cued: bool) -> int | None:
    """Where an honorific or a self-introduction follows within three name characters."""
    for extra in range(4):
        stop = end + extra
        if extra and not _JP_NAME_CHAR.match(text, stop - 1):
            return None
        if _JP_HONORIFIC.match(text, stop) or _JP_SELF.match(text, stop):
            return stop
        if cued and _JP_AFTER.match(text, stop):
            return stop
    return None


_JP_NAME_CHAR = re.compile(r"[\u4e00-\u9fff\u3040-\u309f\u30a0-\u30ff]")
_JP_SELF = re.compile(r"と申します|といいます|と言います|でございます|の代理|です。")


_KO_TOKEN = re.compile(r"[가-힣]+")
_KO_CUE = re.compile(r"(?:제 이름은|이름은|이름:|이름 :|저는|성함은|담당자는?|고객|환자)\s?$")
_KO_NOT_NAMES = frozenset(
    "박사 교수 선생 사장 부장 과장 대리 고객 회장 원장 이사 정부 주인 기사 안녕 감사 정말 "
    "이번 이제 오늘 내일 어제 우리 여기 거기 저기 조금 한번 이것 그것 저것 지금 전화 문의 "
    "주소 이름 성함 고객님 선생님 여러분 친구 가족 회사 학교 병원 시간 문제 정보 이메일".split()
)


def _korean_given(word: str) -> str:
    for suffix in world.KOREAN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return word[: -len(suffix)]
    return word


def korean_names(text: str) -> Iterator[Span]:
    """A surname syllable and a one- to three-syllable given name, known or marked by an
    honorific (씨, 님) or a cue (제 이름은, 저는)."""
    for m in _KO_TOKEN.finditer(text):
        word = m.group()
        if word in world.KOREAN_SURNAMES and text[m.end() : m.end() + 1] == " ":
            given = _KO_TOKEN.match(text, m.end() + 1)
            if given and _korean_given(given.group()) in world.KOREAN_GIVEN:
                yield "PERSON", m.start(), given.start() + len(_korean_given(given.group()))
            continue
        nxt = _KO_TOKEN.match(text, m.end() + 1)
        cued = _KO_CUE.search(text, max(0, m.start() - 8), m.start()) is not None
        for core in (word, _korean_given(word)):  # "송하은 님": 은 is part of the name here
            if _korean_name(core, word, nxt, cued):
                yield "PERSON", m.start(), m.start() + len(core)
                break


def _korean_name(core: str, word: str, nxt: re.Match | None, cued: bool) -> bool:
    if not 2 <= len(core) <= 5 or core in _KO_NOT_NAMES:
        return False
    surname = core[:2] if core[:2] in world.KOREAN_SURNAMES and len(core) >= 3 else core[:1]
    given = core[len(surname) :]
    if surname not in world.KOREAN_SURNAMES or not 1 <= len(given) <= 3:
        return False
    honorific = word[len(core) :].startswith(("씨", "님")) or bool(
        nxt and nxt.group().startswith(tuple(world.KOREAN_HONORIFICS))
    )
    return given in world.KOREAN_GIVEN or (len(given) >= 2 and (honorific or cued))


# Thai: no spaces between words, but a name is "given surname" with a space between, after a
# title or cue (นาย, นางสาว, คุณ, ผมชื่อ), or starting with a common given name. A Thai word
# runs to the next space, so a given name over 14 characters is a sentence, not a name; a
# surname may be longer ("ลือวิเศษไพบูลย์") but holds no common word ("ได้รับของแล้ว").
_TH_WORD = re.compile(r"[\u0e01-\u0e4e]{2,14}(?![\u0e01-\u0e4e])")
_TH_CUE = re.compile(
    r"นางสาว|นาย|นาง|คุณ|ดร\.|ด\.ช\.|ด\.ญ\.|ชื่อ-นามสกุล\s?:?|ชื่อ\s?:?|ผมชื่อ|ดิฉันชื่อ|ฉันชื่อ|หนูชื่อ"
)
_TH_SURNAME = re.compile(r"([\u0e01-\u0e4e]{2,24}?)(?:ครับ|ค่ะ|คะ)?(?![\u0e01-\u0e4e])")
TH_GIVEN = re.compile(
    "|".join(sorted((world.THAI_GIVEN + more.THAI_GIVEN).split(), key=len, reverse=True))
)
_TH_PARTICLES = ("ครับ", "ค่ะ", "คะ", "นะ", "จ้ะ")


# "ดิฉันวิไล มีสุขค่ะ": a pronoun glued to a name and surname, then a polite particle.
_TH_SELF = re.compile(
    r"(?:ดิฉัน|ผม|หนู|ฉัน)([\u0e01-\u0e4e]{2,12} [\u0e01-\u0e4e]{2,14}?)"
    r"(?:ครับ|ค่ะ|คะ)(?![\u0e01-\u0e4e])"
)
_TH_GLUE = ("ดิฉัน", "ผม", "หนู", "ฉัน", "คุณ", "นาย", "นาง", "นางสาว", "ชื่อ", "แทน", "ขอบคุณ")


def thai_names(text: str) -> Iterator[Span]:
    for m in _TH_CUE.finditer(text):
        if m.group() == "คุณ" and text.endswith("ขอบ", 0, m.start()):
            continue  # ขอบคุณ, "thank you"
        at = m.end() + (text[m.end() : m.end() + 1] == " ")
        given = _TH_WORD.match(text, at)
        if given and thai_name_word(_unparticled(given.group())):
            yield "PERSON", at, _thai_name_end(text, at)
    for m in _TH_SELF.finditer(text):
        if all(thai_name_word(w) for w in m.group(1).split()):
            yield "PERSON", m.start(1), m.end(1)
    for m in TH_GIVEN.finditer(text):
        glued = m.start() and "\u0e01" <= text[m.start() - 1] <= "\u0e4e"
        if (glued and not text.endswith(_TH_GLUE, 0, m.start())) or not _TH_WORD.match(
            text, m.start()
        ):
            continue
        yield "PERSON", m.start(), _thai_name_end(text, m.start())


def _unparticled(word: str) -> str:
    for particle in _TH_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


def _thai_name_end(text: str, at: int) -> int:
    """The end of a given name and, after one space, a surname (polite particles left out)."""
    given = _TH_WORD.match(text, at)
    end = given.end() if given else at
    if text[end : end + 1] == " " and (surname := _TH_SURNAME.match(text, end + 1)):
        if thai_name_word(surname.group(1)):
            end = surname.end()
    for particle in _TH_PARTICLES:
        if text.endswith(particle, at, end) and end - len(particle) > at + 1:
            return end - len(particle)
    return end
