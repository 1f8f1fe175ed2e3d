"""What the breaker writes to the shared cache, and for how long.

The state machine is tested in test_breaker.py. Here a local-memory cache
that also keeps a log of its writes shows the part no single process can
see: the failure count is created atomically (``add``, then ``incr``) and
lives a day; the probe slot lives as long as one provider request may take,
so a probe whose process died frees it; the open state outlives the cooldown.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.core.cache.backends.locmem import LocMemCache

from django_flashcall.internal import breaker

pytestmark = pytest.mark.django_db

DAY = 86400
NAME = "telefonip"


class LoggingCache(LocMemCache):
    """A real LocMemCache that logs its writes; ``evict_next_incr`` makes the
    next ``incr`` find its key gone, as an eviction in between would."""

    log: ClassVar[list[tuple[Any, ...]]] = []
    evict_next_incr: ClassVar[bool] = False

    def add(self, key: str, value: Any, timeout: Any = 300, version: Any = None) -> bool:
        LoggingCache.log.append(("add", key, value, timeout))
        return super().add(key, value, timeout, version)

    def set(self, key: str, value: Any, timeout: Any = 300, version: Any = None) -> None:
        LoggingCache.log.append(("set", key, value, timeout))
        super().set(key, value, timeout, version)

    def incr(self, key: str, delta: int = 1, version: Any = None) -> int:
        if LoggingCache.evict_next_incr:
            LoggingCache.evict_next_incr = False
            self.delete(key, version)
        return super().incr(key, delta, version)


@pytest.fixture
def log(settings, clock):
    settings.CACHES = {"default": {"BACKEND": "tests.test_breaker_cache.LoggingCache"}}
    settings.FLASHCALL_BREAKER_THRESHOLD = 2
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    LoggingCache.log.clear()
    LoggingCache.evict_next_incr = False
    return LoggingCache.log


def writes(log: list, key: str) -> list[tuple[Any, ...]]:
    return [entry for entry in log if entry[1].endswith(key)]


def test_the_failure_count_is_added_then_incremented_and_lives_a_day(log):
    failures, _, _ = breaker.keys(NAME)
    breaker.record_failure(NAME)
    assert writes(log, failures) == [("add", failures, 0, DAY)]
    assert breaker.peek(NAME) == (0, False)  # one failure on record


def test_an_evicted_count_starts_again_at_one(log):
    failures, open_key, _ = breaker.keys(NAME)
    LoggingCache.evict_next_incr = True
    breaker.record_failure(NAME)
    assert writes(log, failures)[-1] == ("set", failures, 1, DAY)
    assert not breaker.is_open(NAME)
    breaker.record_failure(NAME)  # 2: the threshold
    assert breaker.is_open(NAME)


def test_the_open_state_outlives_the_cooldown(log, clock):
    _, open_key, _ = breaker.keys(NAME)
    breaker.record_failure(NAME)
    breaker.record_failure(NAME)
    (entry,) = writes(log, open_key)
    assert entry == ("set", open_key, clock().timestamp() + 60, 60 + DAY)


@pytest.mark.parametrize(
    ("timeout", "window"),
    [((3.05, 15), 23), (10, 15), ((0.1, 0.2), 5)],
    ids=["default", "one-number", "tiny"],
)
def test_the_probe_slot_lives_as_long_as_a_provider_request(log, clock, settings, timeout, window):
    settings.FLASHCALL_TIMEOUT = timeout
    _, _, probe = breaker.keys(NAME)
    breaker.record_failure(NAME)
    breaker.record_failure(NAME)
    clock.advance(60)
    assert breaker.check(NAME) == 0
    assert writes(log, probe)[-1] == ("add", probe, 1, window)


def test_asking_without_claiming_leaves_the_probe(log, clock):
    breaker.record_failure(NAME)
    breaker.record_failure(NAME)
    assert breaker.check(NAME, claim=False) == 60
    assert breaker.peek(NAME) == (60, False)
    clock.advance(30.5)
    assert breaker.peek(NAME) == (30, False)  # 29.5 s left: rounded up
    clock.advance(29.5)
    assert breaker.peek(NAME) == (0, False)
    assert breaker.check(NAME, claim=False) == 0
    assert breaker.check(NAME) == 0  # the probe is still there to take...
    assert breaker.check(NAME) == 1  # ...once
    breaker.release_probe(NAME)
    assert breaker.check(NAME) == 0  # released: the next caller probes


def test_a_success_clears_only_its_own_providers_breaker(log):
    from django_flashcall.providers import get_provider

    first = get_provider().name  # the breaker a call without a name uses
    breaker.record_failure(first)
    breaker.record_failure("another")
    breaker.record_success("another")
    assert breaker.peek("another") == (0, True)
    assert breaker.peek(first) == (0, False)  # its failure is still on record
