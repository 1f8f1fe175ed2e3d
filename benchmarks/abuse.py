#!/usr/bin/env python3
"""What the pumping guards (``django_flashcall.internal.abuse``) cost.

    python benchmarks/abuse.py [--n 20000]

Times, per operation, with the local-memory cache and with a throwaway
Redis (``redis-server`` on PATH; skipped without it):

* ``assess + screen``: what every ``request/`` pays while the guards are on
  (one ``get_many`` of 11 keys, and 3 counters for the call it lets
  through), for a low-risk request;
* ``release``: a call counted by ``screen`` but refused by a later limit;
* ``record_verified``: after a code is verified (4 counters);
* ``enabled()``: all a request pays while the guards are off;
* ``request_code()`` itself (SQLite in memory, the sandbox provider), with
  the guards on and off, for scale.

Medians of 5 rounds of ``--n`` operations. Not run by CI.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = itertools.count()  # a fresh phone for every call: no limit refuses one
sys.path.insert(0, str(ROOT))


def configure(caches: dict) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="benchmark",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_flashcall"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES=caches,
        FLASHCALL_CHALLENGE="django_flashcall.testing.challenge.arithmetic",
    )
    django.setup()


def per_op(action, n: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            action(i)
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds) * 1e6  # µs


def measure(alias: str, n: int) -> None:
    from django.core.cache import caches
    from django.test import override_settings

    from django_flashcall.internal import abuse
    from django_flashcall.internal.clock import now

    caches[alias].clear()
    override_settings(
        FLASHCALL_CACHE_ALIAS=alias,
        # No risk: the common path, whatever the counters reach.
        FLASHCALL_RANGE_RISK=10**9,
        FLASHCALL_NETWORK_RISK=10**9,
        FLASHCALL_CONVERSION_SAMPLE=10**9,
    ).enable()
    at = now()

    def phone(i: int) -> str:
        return f"79{i % 100:02d}{i:07d}"[:11]

    def guarded(i: int) -> None:
        risk = abuse.assess(phone(i), f"203.0.{i % 250}.{i % 200 + 1}", at)
        abuse.screen(risk, None, phone(i), None)

    def released(i: int) -> None:
        risk = abuse.Risk("7916000", "203.0.113.0/24", at.timestamp(), reserved=True)
        abuse.release(risk)

    results = {
        "assess + screen (every request)": per_op(guarded, n),
        "release (a counted call refused later)": per_op(released, n),
        "record_verified (per code verified)": per_op(
            lambda i: abuse.record_verified(phone(i), "203.0.113.9", at), n
        ),
        "enabled() (guards off: all a request pays)": per_op(lambda i: abuse.enabled(), n),
    }
    print(f"\n{caches[alias].__class__.__name__}, {n} operations per round")
    for label, micro in results.items():
        print(f"  {label:45s} {micro:8.1f} µs")
    print(f"  {'request_code(), guards on / off':45s} {request_code_pair(n // 10)}")


def request_code_pair(n: int) -> str:
    """Median µs of ``request_code()`` with the guards on, and off."""
    from django.core.management import call_command
    from django.test import override_settings

    from django_flashcall.services import request_code

    call_command("migrate", verbosity=0)
    timings = []
    for challenge in ("django_flashcall.testing.challenge.arithmetic", None):
        with override_settings(
            FLASHCALL_CHALLENGE=challenge,
            FLASHCALL_PROVIDER="django_flashcall.providers.SandboxProvider",
            FLASHCALL_CONVERSION_SAMPLE=10**9,  # no risk: the common path
            FLASHCALL_RANGE_RISK=10**9,
        ):
            timings.append(per_op(lambda i: request_code(f"7916{next(NUMBERS):07d}"), n))
    return f"{timings[0]:.1f} / {timings[1]:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    from scripts.servers import Redis

    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    redis = Redis(Path(tempfile.mkdtemp(prefix="flashcall-bench-"))) if Redis.binary() else None
    if redis is not None:
        redis.start()
        caches["redis"] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url(),
        }
    try:
        configure(caches)
        measure("default", args.n)
        if redis is not None:
            measure("redis", max(1, args.n // 10))
    finally:
        if redis is not None:
            redis.stop()


if __name__ == "__main__":
    main()
