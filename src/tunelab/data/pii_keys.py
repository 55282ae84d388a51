"""What the key of a structured value says it is: ``{"password": "hunter2"}``,
``{"dob": "1990-05-17"}``, ``{"name": "Anna Kowalska"}``. Tool-call arguments and CSV columns
name their values; when the text rules find nothing in a value, its key may. Used by
``privacy.Scrubber``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tunelab.data.pii_lexicon_latin import PARTICLES
from tunelab.data.pii_name_words import GIVEN, classify

_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")

# Keys of structured data (tool-call arguments, CSV columns) that say what their value is.
KEY_TYPES = {
    **dict.fromkeys(
        "password passwd pwd passphrase passcode secret token accesstoken refreshtoken apikey "
        "apisecret clientsecret secretkey privatekey authtoken sessiontoken bearertoken pin cvv "
        "cvc otp".split(),
        "SECRET",
    ),
    **dict.fromkeys("dob dateofbirth birthdate birthday".split(), "DATE_OF_BIRTH"),
    **dict.fromkeys(
        "address streetaddress street homeaddress shippingaddress billingaddress mailingaddress "
        "addressline1 addressline2 postaladdress residence".split(),
        "ADDRESS",
    ),
    **dict.fromkeys(
        "fullname firstname lastname givenname familyname surname middlename customername "
        "patientname contactname personname clientname employeename displayname recipientname "
        "sendername nextofkin emergencycontact spouse".split(),
        "PERSON",
    ),
    **dict.fromkeys("phone phonenumber mobile cell telephone tel fax".split(), "PHONE"),
    **dict.fromkeys("ssn socialsecuritynumber".split(), "US_SSN"),
    **dict.fromkeys("cardnumber creditcard ccnumber".split(), "CREDIT_CARD"),
    "iban": "IBAN",
}
# Keys that hold a person's name only sometimes ({"name": "get_weather"} is a tool): the value
# must look like a name.
_LOOSE_PERSON_KEYS = frozenset(
    "name customer patient contact holder accountholder cardholder guarantor tenant employee "
    "recipient sender owner client guest passenger".split()
)


def _looks_like_name(value: str) -> bool:
    """Letters (and the marks of Indic and Thai scripts) in one to four words."""
    if len(value) > 60 or not value[:1].isalpha():
        return False
    if not all(c.isalpha() or c in " '’.,-" or unicodedata.category(c)[0] == "M" for c in value):
        return False
    words = value.replace(",", " ").split()
    if not 1 <= len(words) <= 4:
        return False
    if all("a" <= w[0].lower() <= "z" or w[0] in "ÀÁÂÄÅÉÈÊËÍÎÏÓÔÖØÚÜÑÇŁŚŻŹ" for w in words):
        if len(words) == 1:
            return classify(words[0]) == GIVEN
        return all(w[0].isupper() or w in PARTICLES for w in words)
    return True  # a name in a script without case


@lru_cache(maxsize=4096)
def _key_kind(key: str) -> tuple[str | None, bool]:
    """The type a key names, and whether it may name a person ("name", "customer")."""
    normalized = re.sub(r"[\W_]", "", key).lower()
    return KEY_TYPES.get(normalized), normalized in _LOOSE_PERSON_KEYS


def key_finding(key: str, text: str) -> tuple[str, int, int] | None:
    """A whole value that its key names (``{"password": "hunter2"}``), when the text rules found
    nothing in it."""
    kind, loose = _key_kind(key)
    if kind is None and not loose:
        return None  # most keys ("role", "content") name no type
    value = text.strip()
    if _PLACEHOLDER.search(value):
        return None  # scrubbed already
    if kind is None and _looks_like_name(value):
        kind = "PERSON"
    if kind is None or len(value) < 2:
        return None
    digits = sum(c.isdigit() for c in value)
    ok = {
        "SECRET": len(value) >= 3 and " " not in value,
        "DATE_OF_BIRTH": digits >= 2,
        "ADDRESS": digits >= 1 and len(value) >= 6,
        "PERSON": _looks_like_name(value) and not value.islower(),
        "PHONE": 6 <= digits <= 15,
        "US_SSN": digits == 9,
        "CREDIT_CARD": 12 <= digits <= 19,
        "IBAN": len(value) >= 15,
    }[kind]
    start = text.index(value[0])
    return (kind, start, start + len(value)) if ok else None
