#!/usr/bin/env python3
"""Scale benchmark: a request's cost against the day's volume, and the
monitoring page's time against the table's size, on PostgreSQL.

    python benchmarks/scale.py                     # 1k, 100k, 1M, 10M; 10M for monitoring
    python benchmarks/scale.py --sizes 1000,1000000 --monitor-rows 1000000 --requests 200

Starts a throwaway PostgreSQL cluster (``scripts/servers.py``) and, in this
process, Django on it (sandbox provider, local-memory cache).

1. For each size N: empties the attempt table, writes N attempts spread over
   the last 24 h (one ``INSERT … SELECT generate_series``, the outcome mix
   of ``benchmarks/monitoring.py``: about three in four are calls), and
   ``VACUUM ANALYZE``. Then, with ``FLASHCALL_DAILY_BUDGET`` set above N,
   one request brings the budget's ledger up to date (timed apart: once per
   site, or after a ledger reset), and ``services.request_code`` is timed
   for ``--requests`` new phones, alternating with the budget off. Also
   timed: the budget's own step alone (``django_flashcall_reserve()`` with a
   budget of 0: lock, sweep, catch up, refuse) and, for comparison, the
   count the budget made before the ledger (``count(*)`` of the last 24 h).
2. Empties the table, writes ``--monitor-rows`` attempts over 30 days, and
   times ``stats.report()`` per period: the totals and timeline and the
   per-provider rows (from the 15-minute counts), the offenders (from the
   rows), and the same totals from the rows alone, the way the page read
   them before the counts.

``--markdown FILE`` writes the tables as Markdown. ``--pg-port PORT`` uses
a PostgreSQL already running on 127.0.0.1 (user and database as
``scripts/servers.py`` makes them) instead of a throwaway one, and keeps a
monitoring seed of ``--monitor-rows`` attempts found there: 10M take ~20
minutes to write, so the code can be timed again on the same rows. Not
run by CI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.monitoring import SEED_SQL, TABLE  # noqa: E402
from scripts import servers  # noqa: E402

DAY_SECONDS = 86400


def log(msg: str) -> None:
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


def setup_django(port: int) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="benchmark-only",  # noqa: S106
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django_flashcall",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": servers.PG_DB,
                "USER": servers.PG_USER,
                "HOST": "127.0.0.1",
                "PORT": str(port),
            }
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        FLASHCALL_PROVIDER="django_flashcall.providers.SandboxProvider",
        FLASHCALL_RESEND_COOLDOWN=0,
        LOGGING={"version": 1, "disable_existing_loggers": True},
    )
    django.setup()


def seed(rows: int, days: float) -> float:
    """Empty the table, write ``rows`` attempts over the last ``days``; seconds taken."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The truncate trigger empties the counts and the budget's ledger too.
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY")
        cursor.execute(SEED_SQL, {"rows": rows, "step": days * DAY_SECONDS / rows})
    seeded = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        cursor.execute("VACUUM ANALYZE django_flashcall_callcount")
        cursor.execute("VACUUM ANALYZE django_flashcall_offendercount")
    return seeded


def ms(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def request_costs(sizes: list[int], requests: int) -> list[dict[str, Any]]:
    from django.db import connection
    from django.db.models import Count, Min
    from django.test.utils import override_settings

    from django_flashcall.internal import budget
    from django_flashcall.internal.clock import now
    from django_flashcall.models import CallAttempt, called_q
    from django_flashcall.services import request_code

    results = []
    for index, n in enumerate(sizes):
        log(f"seeding {n:,} attempts over 24 h")
        seeded = seed(n, 1)
        calls = CallAttempt.objects.filter(called_q()).count()
        with override_settings(FLASHCALL_DAILY_BUDGET=10 * n + 10_000):
            first = ms(lambda: budget.window_calls(now()), 1)[0]  # counts the day once

        def budget_step() -> None:
            # The budget's whole work (lock, sweep, catch up, check) and
            # nothing else: a budget of 0 refuses before the insert.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT django_flashcall_reserve(%s, %s, %s, %s, %s, '{}')",
                    budget._predicate(now(), 0),  # the app's own arguments
                )

        phones = iter(f"79{index}{i:08d}" for i in range(10**8))
        with_budget: list[float] = []
        without: list[float] = []
        step: list[float] = []
        for i in range(requests):
            budget_on = i % 2 == 0
            with override_settings(FLASHCALL_DAILY_BUDGET=10 * n + 10_000 if budget_on else None):
                started = time.perf_counter()
                request_code(next(phones))
                took = (time.perf_counter() - started) * 1000
            (with_budget if budget_on else without).append(took)
            if i % 10 == 0:
                step += ms(budget_step, 1)

        def old_count() -> None:
            CallAttempt.objects.filter(called_q(), created_at__gte=now() - budget.DAY).aggregate(
                n=Count("pk"), oldest=Min("created_at")
            )

        old = ms(old_count, 5)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{TABLE}'))")
            size = cursor.fetchone()[0]
        row = {
            "n": n,
            "calls": calls,
            "seed_s": seeded,
            "table": size,
            "first_ms": first,
            "budget_p50": statistics.median(with_budget),
            "budget_p95": p(with_budget, 95),
            "nobudget_p50": statistics.median(without),
            "step_p50": statistics.median(step),
            "old_count_p50": statistics.median(old),
        }
        log(
            f"  {n:,}: request_code {row['budget_p50']:.2f} ms (budget), "
            f"{row['nobudget_p50']:.2f} ms (none); budget step {row['step_p50']:.2f} ms; "
            f"old count {row['old_count_p50']:.1f} ms; first catch-up {first:.0f} ms"
        )
        results.append(row)
    return results


def monitoring_times(
    rows: int, repeat: int, reuse: bool = False
) -> tuple[float, list[dict[str, Any]]]:
    from django.db import connection

    from django_flashcall.internal.clock import now
    from django_flashcall.monitoring import stats, tally, window
    from django_flashcall.monitoring.providers import provider_rows

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        have = cursor.fetchone()[0]
    if reuse and have == rows:
        log(f"reusing the {rows:,} attempts in the table (seeded earlier: older windows)")
        seeded = 0.0
    else:
        log(f"seeding {rows:,} attempts over 30 days")
        seeded = seed(rows, 30)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size(%s)), "
            "pg_size_pretty(pg_total_relation_size(%s)) FROM django_flashcall_offendercount",
            ["django_flashcall_offendercount", TABLE],
        )
        counted, size, attempts = cursor.fetchone()
    log(
        f"  seeded in {seeded:.0f} s; offender counts: {counted:,} rows, {size} "
        f"(attempts table: {attempts})"
    )
    window_read = window.read
    out = []
    for key in ("1d", "7d", "30d"):
        period = stats.get_period(key)

        def window(period: Any = period) -> tuple[Any, Any, list[Any]]:
            until = now()
            since = until - period.length
            return since, until, stats.bucket_starts(since, until, period.bucket)

        def counted(period: Any = period, window: Any = window) -> None:
            tally.totals(*window()[:2], period.bucket, window()[2])

        def read_once(period: Any = period, window: Any = window) -> None:
            since, until, starts = window()
            window_read(since, until, period.bucket, starts)

        def per_provider(window: Any = window) -> None:
            since, until, _ = window()
            provider_rows(since, until)

        def offenders(window: Any = window) -> None:
            since, until, _ = window()
            stats.top_offenders("phone", since, until)
            stats.top_offenders("ip", since, until)

        def from_rows(period: Any = period, window: Any = window) -> None:
            since, until, starts = window()
            tally.row_totals(since, until, period.bucket, starts)

        stats.report(period)  # warm
        report = ms(lambda period=period: stats.report(period), repeat)
        totals = ms(counted, repeat)
        offending = ms(offenders, repeat)
        providing = ms(per_provider, repeat)
        shared = ms(read_once, repeat)

        def offenders_from_rows(window: Any = window) -> None:
            since, until, _ = window()
            for kind in ("phone", "ip"):
                list(stats.offenders(kind, since, until))

        old = ms(from_rows, max(1, repeat // 2))
        old_offenders = ms(offenders_from_rows, 1)  # seconds each: once
        summary = stats.report(period).summary
        out.append(
            {
                "period": key,
                "rows": summary.requests,
                "report_p50": statistics.median(report),
                "totals_p50": statistics.median(totals),
                "offenders_p50": statistics.median(offending),
                "providers_p50": statistics.median(providing),
                "read_p50": statistics.median(shared),
                "rows_p50": statistics.median(old),
                "old_offenders": old_offenders[0],
            }
        )
        log(
            f"  {key}: report {out[-1]['report_p50']:.0f} ms (read once "
            f"{out[-1]['read_p50']:.0f}, totals {out[-1]['totals_p50']:.0f}, providers "
            f"{out[-1]['providers_p50']:.0f}, offenders {out[-1]['offenders_p50']:.0f}); "
            f"totals from rows {out[-1]['rows_p50']:.0f}, "
            f"offenders from rows {out[-1]['old_offenders']:.0f}"
        )
    return seeded, out


def render(
    costs: list[dict[str, Any]],
    monitor_rows: int,
    monitor: list[dict[str, Any]],
    info: dict[str, str],
    requests: int,
) -> str:
    out = ["Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), ""]
    if costs:
        base = costs[0]["budget_p50"]
        out += [
            f"Request cost (`services.request_code`, sandbox provider, new phones, median of "
            f"{requests // 2} with `FLASHCALL_DAILY_BUDGET` set and {requests // 2} without, "
            "alternating), by attempts written in the last 24 h:",
            "",
            "| attempts in 24 h (calls) | request_code, budget set | p95 | ÷ smallest | "
            "request_code, no budget | budget step alone | count of 24 h (before) | "
            "first request after a ledger reset |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in costs:
            out.append(
                f"| {r['n']:,} ({r['calls']:,}) | {r['budget_p50']:.2f} ms | "
                f"{r['budget_p95']:.2f} ms | {r['budget_p50'] / base:.2f} | "
                f"{r['nobudget_p50']:.2f} ms | {r['step_p50']:.2f} ms | "
                f"{r['old_count_p50']:.1f} ms | {r['first_ms']:.0f} ms |"
            )
        out.append("")
    if monitor:
        out += [
            f"Monitoring (`stats.report()`, median), {monitor_rows:,} attempts over 30 days:",
            "",
            "| period | attempts in the window | report() | counts read once (`window.read`) | "
            "totals + timeline alone | per provider alone | offenders (counts) | "
            "totals + timeline from the rows (before) | offenders from the rows (before) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for m in monitor:
            out.append(
                f"| {m['period']} | {m['rows']:,} | {m['report_p50']:.0f} ms | "
                f"{m['read_p50']:.0f} ms | {m['totals_p50']:.0f} ms | "
                f"{m['providers_p50']:.0f} ms | "
                f"{m['offenders_p50']:.0f} ms | {m['rows_p50']:.0f} ms | "
                f"{m['old_offenders']:,.0f} ms |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000,10000000")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per size")
    parser.add_argument("--monitor-rows", type=int, default=10_000_000, help="0 to skip")
    parser.add_argument("--repeat", type=int, default=5, help="timings per monitoring query")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--pg-port", type=int, help="a running PostgreSQL: reuse its seed")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="flashcall-scale-", dir="/tmp"))
    os.chmod(tmp, 0o711)  # the postgres user must reach tmp/pg
    pg = servers.Postgres(tmp)
    try:
        if args.pg_port:
            port = args.pg_port
        else:
            pg.start()
            assert pg.port is not None
            port = pg.port
        log(f"PostgreSQL on :{port}")
        setup_django(port)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        info = {
            "PostgreSQL": version,
            "CPUs": str(os.cpu_count()),
            "load at start": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        }
        costs = request_costs(sizes, args.requests)
        monitor: list[dict[str, Any]] = []
        if args.monitor_rows:
            _, monitor = monitoring_times(args.monitor_rows, args.repeat, bool(args.pg_port))
        info["load at end"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        text = render(costs, args.monitor_rows, monitor, info, args.requests)
        print(text)
        if args.markdown:
            args.markdown.write_text(text)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
