"""Defenses against call pumping (SPEC §10): raise the bar, not the wall.

Pumping is many requests for calls nobody will ever answer: to numbers of one
range (whose owner may be paid per call), from many addresses (so the per-IP
rate does not bite). The budget caps the money lost, but an attacker who
spends it takes the site's logins down with it. So the bar is raised long
before, where the risk is, and only there:

* **a hot number range**: the first ``FLASHCALL_RANGE_DIGITS`` digits of the
  stored phone (7: ``7924450`` is 10,000 numbers). Honest traffic spreads
  over tens of thousands of ranges and almost always verifies, so a range
  with ``FLASHCALL_RANGE_RISK`` unverified calls in about a day is suspect;
* **a hot network**: IPv4 ``/24``, IPv6 ``/48`` (one customer's site holds
  65,536 ``/64`` buckets of the per-IP rate), with
  ``FLASHCALL_NETWORK_RISK`` unverified calls in about a day;
* **a falling conversion rate** for the whole site: at least
  ``FLASHCALL_CONVERSION_SAMPLE`` calls in about an hour of which fewer than
  ``FLASHCALL_CONVERSION_MIN`` were verified. That catches an attacker who
  spreads over many ranges and networks. Once tripped it stays up for
  ``FLASHCALL_CONVERSION_HOLD`` seconds, doubled for each trip within a day
  (at most a day), and longer while bots keep failing it: each
  ``FLASHCALL_CONVERSION_SAMPLE`` requests in an hour that do not pass the
  challenge push its end a hold further. An attack that goes on keeps the
  bar up; once it stops, the bar comes down.

The raised bar is ``FLASHCALL_CHALLENGE`` (a CAPTCHA or similar): honest users
pass it and get their call, bots do not. Without a challenge nothing tells a
person from a bot, and a wall would lock people out: three unanswered calls
to a victim's range would shut its 10,000 numbers out for a day. So without
one the guards stay off (the docs say so). ``FLASHCALL_RANGE_DAILY_LIMIT``
(off by default) is a wall even for those who pass the challenge, for sites
that see CAPTCHA farms, at that price.

Cost: one ``get_many`` per request, and a few ``incr`` per call placed or
verified (a call is counted before it is placed, so that a burst of
concurrent requests cannot all pass cold counters), all in the shared cache;
no database query. Nothing at all when
neither a challenge nor a range limit is set. The counts are
heuristics over two fixed windows weighted into a sliding one (as the
"sliding window counter" of rate limiters), not exact: what must be exact
(guesses, per-phone limits, the budget) is counted elsewhere, in the database.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

from ..conf import flashcall_settings
from ..exceptions import ChallengeRequired, RateLimited
from ..models import Reason
from .cache import GuardedCache, shared_cache

logger = logging.getLogger("django_flashcall")

DAY = 24 * 3600
HOUR = 3600
PREFIX = "flashcall:abuse"
RAISED = f"{PREFIX}:raised"
NETWORK_PREFIX = {4: 24, 6: 48}
# What a client is told to wait for past the range limit: it decays over a day.
RISK_RETRY = HOUR
# The signals of a high risk, as stored in a refused attempt's ``error`` field.
RANGE, NETWORK, CONVERSION = "range", "network", "conversion"


def enabled() -> bool:
    """Whether the guards run at all (they cost a cache read per request)."""
    s = flashcall_settings
    return bool(s.CHALLENGE) or s.RANGE_DAILY_LIMIT is not None


def range_of(phone: str) -> str:
    """The number range of a stored phone (``79244501003`` → ``7924450``)."""
    return phone[: max(2, int(flashcall_settings.RANGE_DIGITS))]


def network_of(ip: str | None) -> str | None:
    """The client's network: IPv4 ``/24``, IPv6 ``/48``; None without an address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    net = ipaddress.ip_network(f"{address}/{NETWORK_PREFIX[address.version]}", strict=False)
    return str(net)


@dataclass
class _Window:
    """A fixed-window pair read as a sliding window: ``prev`` weighs what of
    it still lies within ``span`` seconds of now."""

    span: int
    index: int
    weight: float

    @classmethod
    def at(cls, span: int, ts: float) -> _Window:
        index = int(ts // span)
        return cls(span, index, 1.0 - (ts - index * span) / span)

    def keys(self, name: str) -> tuple[str, str]:
        return f"{PREFIX}:{name}:{self.index}", f"{PREFIX}:{name}:{self.index - 1}"

    def count(self, values: dict[str, Any], name: str) -> float:
        current, previous = self.keys(name)
        return int(values.get(current) or 0) + int(values.get(previous) or 0) * self.weight


@dataclass
class Risk:
    """What :func:`assess` found about one request, and its counters."""

    phone_range: str
    network: str | None
    at: float
    reasons: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    raised: dict[str, Any] | None = None
    reserved: bool = False

    @property
    def high(self) -> bool:
        return bool(self.reasons)

    def windows(self) -> tuple[_Window, _Window]:
        return _Window.at(DAY, self.at), _Window.at(HOUR, self.at)

    def placed_keys(self) -> list[str]:
        day, hour = self.windows()
        day_names, hour_names = _names(self.phone_range, self.network)
        return [day.keys(f"{n}:placed")[0] for n in day_names] + [
            hour.keys(f"{n}:placed")[0] for n in hour_names
        ]


def _names(phone_range: str, network: str | None) -> tuple[list[str], list[str]]:
    """The counter names a call (``placed``) and a success (``verified``) bump:
    per range and network over a day, for the site over an hour."""
    day = [f"range:{phone_range}"] + ([f"net:{network}"] if network else [])
    return day, ["site"]


def assess(phone: str, ip: str | None, at: datetime) -> Risk:
    """Read the signals for a request for ``phone`` from ``ip``, at ``at``.

    One ``get_many``; raises ``CacheUnavailable`` (the caller fails closed).
    """
    risk = Risk(range_of(phone), network_of(ip), at.timestamp())
    day, hour = risk.windows()
    day_names, hour_names = _names(risk.phone_range, risk.network)
    keys = [RAISED]
    for name in day_names:
        for kind in ("placed", "verified"):
            keys += day.keys(f"{name}:{kind}")
    for kind in ("placed", "verified"):
        keys += hour.keys(f"site:{kind}")
    risk.values = shared_cache().get_many(keys)
    raised = risk.values.get(RAISED)
    if isinstance(raised, dict):
        risk.raised = raised
    _judge(risk)
    return risk


def _judge(risk: Risk) -> None:
    """Set ``risk.reasons`` from its counters. After :func:`_reserve` they
    include this request's own call, which is not yet unverified."""
    s = flashcall_settings
    day, _hour = risk.windows()
    own = 1 if risk.reserved else 0

    def unverified(name: str) -> float:
        placed = day.count(risk.values, f"{name}:placed") - own
        return placed - day.count(risk.values, f"{name}:verified")

    reasons = []
    if unverified(f"range:{risk.phone_range}") >= s.RANGE_RISK:
        reasons.append(RANGE)
    if risk.network and unverified(f"net:{risk.network}") >= s.NETWORK_RISK:
        reasons.append(NETWORK)
    if risk.raised is not None and risk.raised.get("until", 0) > risk.at:
        reasons.append(CONVERSION)
    risk.reasons = reasons


def screen(risk: Risk, request: HttpRequest | None, phone: str, value: Any) -> None:
    """Let the request through (its call counted), or raise why not.

    ``RateLimited`` past ``FLASHCALL_RANGE_DAILY_LIMIT``, whatever the risk;
    ``ChallengeRequired`` while the risk is high and ``value`` does not pass
    ``FLASHCALL_CHALLENGE``. The challenge is not asked otherwise.

    A request that looks fine is counted at once, with atomic increments,
    and judged again on the counts that come back: of a burst of concurrent
    requests that all read the same cold counters, only as many as the
    thresholds allow get through unchallenged. :func:`release` takes the
    count back if the call is not placed after all.
    """
    check = challenge()
    if not risk.high or check is None:
        _reserve(risk)
        _limit(risk)
        if not risk.high or check is None:
            return
    passed = False
    if value is not None and value != "":
        try:
            passed = bool(check(request, phone, value))
        except Exception:  # noqa: BLE001  a broken challenge must not become a 500
            logger.exception("FLASHCALL_CHALLENGE raised; treated as not passed")
    if not passed:
        release(risk)
        _failed(risk)
        detail = ChallengeRequired.wrong_detail if value else None
        raise ChallengeRequired(detail, **prompt_for(check, request, phone))
    if not risk.reserved:
        _reserve(risk)
        _limit(risk)


def _limit(risk: Risk) -> None:
    """``FLASHCALL_RANGE_DAILY_LIMIT``, on the counts that include this call."""
    limit = flashcall_settings.RANGE_DAILY_LIMIT
    day, _hour = risk.windows()
    if limit is not None and day.count(risk.values, f"range:{risk.phone_range}:placed") > limit:
        release(risk)
        raise RateLimited(retry_after=RISK_RETRY, reason=Reason.RANGE_LIMIT)


def _reserve(risk: Risk) -> None:
    """Count this request's call now; trip the conversion guard if the
    site's calls now go unverified too often."""
    cache = shared_cache()
    for key in risk.placed_keys():
        risk.values[key] = _bump(cache, [key], 2 * DAY + HOUR)
    risk.reserved = True
    _judge(risk)
    s = flashcall_settings
    _day, hour = risk.windows()
    placed = hour.count(risk.values, "site:placed")
    verified = hour.count(risk.values, "site:verified")
    if CONVERSION not in risk.reasons and placed >= s.CONVERSION_SAMPLE:
        if verified < s.CONVERSION_MIN * placed:
            _trip(cache, risk, placed, verified)
            risk.reasons.append(CONVERSION)


def release(risk: Risk | None) -> None:
    """Take back :func:`screen`'s count: the call was not placed after all."""
    if risk is None or not risk.reserved:
        return
    cache = shared_cache()
    for key in risk.placed_keys():
        try:
            cache.decr(key)
        except ValueError:  # expired meanwhile: nothing to take back
            pass
    risk.reserved = False


def _failed(risk: Risk) -> None:
    """Keep the conversion guard up while requests keep failing its challenge."""
    if CONVERSION not in risk.reasons or risk.raised is None:
        return
    cache = shared_cache()
    _day, hour = risk.windows()
    failed = _bump(cache, [hour.keys("site:failed")[0]], 2 * HOUR + 60)
    if failed % max(1, int(flashcall_settings.CONVERSION_SAMPLE)):
        return
    hold = int(risk.raised.get("hold", flashcall_settings.CONVERSION_HOLD))
    state = {**risk.raised, "until": max(risk.raised.get("until", 0), risk.at + hold)}
    cache.set(RAISED, state, 2 * DAY)


def challenge() -> Any:
    """The ``FLASHCALL_CHALLENGE`` callable, or None (system check E013 reports
    a path that does not import)."""
    path = flashcall_settings.CHALLENGE
    if not path:
        return None
    return import_string(path)


def prompt_for(check: Any, request: HttpRequest | None, phone: str) -> dict[str, str]:
    """``{"challenge": text}`` if the challenge has a ``prompt(request, phone)``."""
    prompt = getattr(check, "prompt", None)
    if not callable(prompt):
        return {}
    try:
        return {"challenge": str(prompt(request, phone))}
    except Exception:  # noqa: BLE001
        logger.exception("FLASHCALL_CHALLENGE.prompt raised")
        return {}


def _bump(cache: GuardedCache, keys: Iterable[str], ttl: int) -> int:
    """Add one to each counter; the last one's new value."""
    value = 0
    for key in keys:
        try:
            value = cache.incr(key)
        except ValueError:  # new window (or expired): start it
            value = 1 if cache.add(key, 1, ttl) else cache.incr(key)
    return value


def _trip(cache: GuardedCache, risk: Risk, placed: float, verified: float) -> None:
    """Raise the bar for everyone, for longer after each trip within a day."""
    previous = risk.raised or {}
    trips = int(previous.get("trips", 0)) if previous.get("last", 0) > risk.at - DAY else 0
    hold = min(DAY, int(flashcall_settings.CONVERSION_HOLD) * 2**trips)
    state = {"until": risk.at + hold, "trips": trips + 1, "last": risk.at, "hold": hold}
    cache.set(RAISED, state, 2 * DAY)
    risk.raised = state
    logger.warning(
        "Only %d of the last %d calls were verified: %s for %d s",
        int(verified),
        int(placed),
        "a challenge is required" if challenge() is not None else "no FLASHCALL_CHALLENGE set",
        hold,
    )


def record_verified(phone: str, ip: str | None, at: datetime) -> None:
    """Count a verified call, for the range and network it came from and the site."""
    ts = at.timestamp()
    cache = shared_cache()
    day, hour = _Window.at(DAY, ts), _Window.at(HOUR, ts)
    day_names, hour_names = _names(range_of(phone), network_of(ip))
    _bump(cache, [day.keys(f"{n}:verified")[0] for n in day_names], 2 * DAY + HOUR)
    _bump(cache, [hour.keys(f"{n}:verified")[0] for n in hour_names], 2 * HOUR + 60)
