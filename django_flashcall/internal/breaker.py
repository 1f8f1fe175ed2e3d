"""One circuit breaker per provider, its state in the Django cache.

With a shared cache (Redis, Memcached) every process sees the same state:
after ``FLASHCALL_BREAKER_THRESHOLD`` consecutive failures of a provider its
breaker opens and that provider is skipped for ``FLASHCALL_BREAKER_COOLDOWN``
seconds; then exactly one probe call is let through (``cache.add`` is
atomic), and its outcome closes or reopens the breaker.

Every function takes the provider's name (its ``FLASHCALL_PROVIDERS`` name,
which is in the cache keys); without one it is the first provider's, the
one breaker of 0.1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..conf import flashcall_settings, timeout_total
from .cache import GuardedCache, shared_cache
from .clock import now_ts

PREFIX = "flashcall:breaker"
_DAY = 86400


def _cache() -> GuardedCache:
    return shared_cache()


def _name(name: str | None) -> str:
    if name is not None:
        return name
    from ..providers import get_provider

    return get_provider().name


def keys(name: str | None = None) -> tuple[str, str, str]:
    """The cache keys of ``name``'s breaker: failures, open_until, probe."""
    name = _name(name)
    return (f"{PREFIX}:{name}:failures", f"{PREFIX}:{name}:open_until", f"{PREFIX}:{name}:probe")


def check(name: str | None = None, *, claim: bool = True) -> int:
    """0 if a call may go ahead, else the seconds until the next probe.

    Once the cooldown is over, ``claim=True`` takes the single probe slot;
    ``claim=False`` only asks whether the breaker still fails fast.
    """
    _, open_key, probe_key = keys(name)
    cache = _cache()
    open_until = cache.get(open_key)
    if open_until is None:
        return 0
    remaining = open_until - now_ts()
    if remaining > 0:
        return max(1, math.ceil(remaining))
    if not claim:
        return 0
    # Cooldown over: one caller wins the probe, the rest keep failing fast.
    probe_window = max(5, int(timeout_total()) + 5)
    if cache.add(probe_key, 1, probe_window):
        return 0
    return 1


def peek_all(names: Sequence[str]) -> list[tuple[int, bool]]:
    """:func:`peek` of every provider in ``names``, in one cache round trip."""
    all_keys = [keys(name) for name in names]
    values = _cache().get_many([k for triple in all_keys for k in triple[:2]])
    at = now_ts()
    states: list[tuple[int, bool]] = []
    for failures_key, open_key, _ in all_keys:
        open_until = values.get(open_key)
        if open_until is None:
            states.append((0, not values.get(failures_key)))
            continue
        remaining = open_until - at
        states.append(((max(1, math.ceil(remaining)) if remaining > 0 else 0), False))
    return states


def peek(name: str | None = None) -> tuple[int, bool]:
    """One cache round trip for the common case: ``(wait, clean)``.

    ``wait`` is as :func:`check` with ``claim=False``; ``clean`` says there
    is no failure on record and the breaker is closed, so the caller need not
    claim a probe nor clear anything after its success. (A failure another
    process records meanwhile is then not cleared by this success: the count
    may run a call early towards the threshold, never late.)
    """
    return peek_all([_name(name)])[0]


def record_success(name: str | None = None) -> None:
    _cache().delete_many(list(keys(name)))


def release_probe(name: str | None = None) -> None:
    """An answer that says nothing of the provider's health (it refused one
    phone): let the next caller probe instead of waiting out the window."""
    _cache().delete(keys(name)[2])


def record_failure(name: str | None = None) -> None:
    failures_key, open_key, probe_key = keys(name)
    cache = _cache()
    cache.add(failures_key, 0, _DAY)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # evicted between add and incr
        cache.set(failures_key, 1, _DAY)
        failures = 1
    if failures >= flashcall_settings.BREAKER_THRESHOLD:
        cooldown = flashcall_settings.BREAKER_COOLDOWN
        cache.set(open_key, now_ts() + cooldown, cooldown + _DAY)
        cache.delete(probe_key)


def is_open(name: str | None = None) -> bool:
    open_until = _cache().get(keys(name)[1])
    return open_until is not None and open_until > now_ts()
