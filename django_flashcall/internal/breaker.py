"""A circuit breaker over the provider, its state in the Django cache.

With a shared cache (Redis, Memcached) every process sees the same state:
after ``FLASHCALL_BREAKER_THRESHOLD`` consecutive provider failures the
breaker opens and requests fail fast for ``FLASHCALL_BREAKER_COOLDOWN``
seconds; then exactly one probe call is let through (``cache.add`` is
atomic), and its outcome closes or reopens the breaker.
"""

from __future__ import annotations

import math

from ..conf import flashcall_settings, timeout_total
from .cache import GuardedCache, shared_cache
from .clock import now_ts

FAILURES = "flashcall:breaker:failures"
OPEN_UNTIL = "flashcall:breaker:open_until"
PROBE = "flashcall:breaker:probe"
_DAY = 86400


def _cache() -> GuardedCache:
    return shared_cache()


def check(*, claim: bool = True) -> int:
    """0 if a call may go ahead, else the seconds until the next probe.

    Once the cooldown is over, ``claim=True`` takes the single probe slot;
    ``claim=False`` only asks whether the breaker still fails fast.
    """
    cache = _cache()
    open_until = cache.get(OPEN_UNTIL)
    if open_until is None:
        return 0
    remaining = open_until - now_ts()
    if remaining > 0:
        return max(1, math.ceil(remaining))
    if not claim:
        return 0
    # Cooldown over: one caller wins the probe, the rest keep failing fast.
    probe_window = max(5, int(timeout_total()) + 5)
    if cache.add(PROBE, 1, probe_window):
        return 0
    return 1


def peek() -> tuple[int, bool]:
    """One cache round trip for the common case: ``(wait, clean)``.

    ``wait`` is as :func:`check` with ``claim=False``; ``clean`` says there
    is no failure on record and the breaker is closed, so the caller need not
    claim a probe nor clear anything after its success. (A failure another
    process records meanwhile is then not cleared by this success: the count
    may run a call early towards the threshold, never late.)
    """
    values = _cache().get_many([FAILURES, OPEN_UNTIL])
    open_until = values.get(OPEN_UNTIL)
    if open_until is None:
        return 0, not values.get(FAILURES)
    remaining = open_until - now_ts()
    return (max(1, math.ceil(remaining)) if remaining > 0 else 0), False


def record_success() -> None:
    cache = _cache()
    cache.delete_many([FAILURES, OPEN_UNTIL, PROBE])


def release_probe() -> None:
    """An answer that says nothing of the provider's health (it refused one
    phone): let the next caller probe instead of waiting out the window."""
    _cache().delete(PROBE)


def record_failure() -> None:
    cache = _cache()
    cache.add(FAILURES, 0, _DAY)
    try:
        failures = cache.incr(FAILURES)
    except ValueError:  # evicted between add and incr
        cache.set(FAILURES, 1, _DAY)
        failures = 1
    if failures >= flashcall_settings.BREAKER_THRESHOLD:
        cooldown = flashcall_settings.BREAKER_COOLDOWN
        cache.set(OPEN_UNTIL, now_ts() + cooldown, cooldown + _DAY)
        cache.delete(PROBE)


def is_open() -> bool:
    open_until = _cache().get(OPEN_UNTIL)
    return open_until is not None and open_until > now_ts()
