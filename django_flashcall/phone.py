"""Pure functions: normalise and validate a phone number (SPEC §6).

Accepted: after NFKC, only ASCII digits, ``+ ( ) - .`` and spaces; the digits
must spell a Russian mobile number as ``+7 9XX…``, ``7 9XX…``, ``8 9XX…`` or
the bare ten digits ``9XX…``. Every accepted spelling maps to one stored form,
``79XXXXXXXXX``, so every spelling shares one set of limits.
"""

from __future__ import annotations

import re
import unicodedata

from .exceptions import InvalidPhone

# Longest reasonable spelling: "+7 (999) 999-99-99" is 18 characters.
MAX_INPUT_LENGTH = 40
_ALLOWED = re.compile(r"[0-9+()\-. ]+", re.ASCII)
_NOT_DIGITS = str.maketrans("", "", "+()-. ")  # all _ALLOWED holds but digits


def normalize(value: object) -> str:
    """Return the stored form ``79XXXXXXXXX`` or raise :class:`InvalidPhone`."""
    if not isinstance(value, str) or len(value) > MAX_INPUT_LENGTH * 4:
        raise InvalidPhone()
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > MAX_INPUT_LENGTH or not _ALLOWED.fullmatch(text):
        raise InvalidPhone()
    # "+" may only lead, and only before a 7.
    if "+" in text[1:]:
        raise InvalidPhone()
    digits = text.translate(_NOT_DIGITS)
    if text.startswith("+"):
        if not (len(digits) == 11 and digits[0] == "7"):
            raise InvalidPhone()
    elif len(digits) == 11 and digits[0] in "78":
        pass
    elif len(digits) == 10:
        digits = "7" + digits
    else:
        raise InvalidPhone()
    digits = "7" + digits[1:]
    if digits[1] != "9":
        raise InvalidPhone()
    return digits


def is_valid(value: object) -> bool:
    try:
        normalize(value)
    except InvalidPhone:
        return False
    return True


def to_provider(stored: str) -> str:
    """The provider's spelling of a stored phone: ``89XXXXXXXXX``."""
    return "8" + normalize(stored)[1:]


def mask(stored: str, visible: int = 2) -> str:
    """``79244501003`` → ``+7 9** ***-**-03``: enough for staff to tell rows apart."""
    if len(stored) != 11:
        return "*" * len(stored)
    tail = stored[-visible:]
    hidden = "*" * (10 - visible)
    body = hidden + tail
    return f"+7 {body[0:3]} {body[3:6]}-{body[6:8]}-{body[8:10]}".replace("*", "•")


def pretty(stored: str) -> str:
    """``79244501003`` → ``+7 924 450-10-03``."""
    if len(stored) != 11:
        return stored
    return f"+7 {stored[1:4]} {stored[4:7]}-{stored[7:9]}-{stored[9:11]}"
