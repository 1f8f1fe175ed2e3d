"""The per-IP rate settings, read exactly as django-ratelimit reads them.

django-ratelimit parses a rate with ``re.match(r"([\\d]+)/([\\d]*)([smhd])?")``
and ignores whatever follows: ``"10/hour"`` is 10 per hour, but ``"10/week"``
and ``"10/H"`` quietly become 10 per *second*, and ``"10 per hour"`` raises
inside its ``get_usage``, where the error would pass for a cache failure and
the limit would be skipped. So a rate it cannot read is an error (system
check E005, and a request fails closed), and a rate it reads otherwise than
it is written is a warning (W004).
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

RATE_SETTINGS = ("RATELIMIT_REQUEST", "RATELIMIT_CONFIRM")
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_READ = re.compile(r"([\d]+)/([\d]*)([smhd])?")  # django-ratelimit's own reading
# What may follow the unit letter and still mean that unit.
_SUFFIXES = {
    "s": {"", "ec", "ecs", "econd", "econds"},
    "m": {"", "in", "ins", "inute", "inutes"},
    "h": {"", "r", "rs", "our", "ours"},
    "d": {"", "ay", "ays"},
}
EXAMPLES = "'10/h', '100/d' or '5/15m'"


def read(rate: Any) -> tuple[int, int] | None:
    """``(count, seconds)`` as django-ratelimit reads ``rate``; None if it cannot."""
    if isinstance(rate, tuple):
        ok = len(rate) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in rate)
        return rate if ok and rate[1] > 0 else None
    if not isinstance(rate, str):
        return None
    match = _READ.match(rate)
    if match is None:
        return None
    count, multiplier, unit = match.groups()
    seconds = PERIODS[unit or "s"] * (int(multiplier) if multiplier else 1)
    return (int(count), seconds) if seconds > 0 else None


def rate_problem(rate: Any) -> str | None:
    """Why django-ratelimit could not use the setting ``rate``, or None.

    A rate is ``None`` (no limit), a string or ``(count, seconds)``, a
    callable ``(group, request) -> rate``, or the dotted path of one.
    """
    if rate is None or callable(rate):
        return None
    if isinstance(rate, str) and "." in rate:
        try:
            return None if callable(import_string(rate)) else "is not a callable"
        except ImportError:
            return "cannot be imported"
    if read(rate) is None:
        return f"is not a rate such as {EXAMPLES}"
    return None


def rate_misread(rate: Any) -> str | None:
    """How django-ratelimit misreads ``rate`` (``"10/week"`` is 10 per
    second), or None when it means what it says."""
    reading = read(rate) if isinstance(rate, str) and "." not in rate else None
    if reading is None:
        return None
    match = _READ.match(rate)
    assert match is not None
    rest, unit = rate[match.end() :], match.group(3)
    if (unit is None and rest) or (unit is not None and rest.lower() not in _SUFFIXES[unit]):
        count, seconds = reading
        return f"is read by django-ratelimit as {count} per {seconds} s"
    return None


def resolve(rate: Any, group: str, request: HttpRequest) -> Any:
    """The rate for this request: a callable or dotted path is called here,
    as django-ratelimit would, so that a bad result fails closed too."""
    if isinstance(rate, str) and "." in rate:
        rate = import_string(rate)
    if callable(rate):
        rate = rate(group, request)
    return rate
