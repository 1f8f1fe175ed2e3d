#!/usr/bin/env python3
"""Benchmark of the monitoring aggregates (``django_flashcall.monitoring.stats``) at scale.

    FLASHCALL_BENCH_DSN=postgresql://postgres@127.0.0.1:55499/flashcall_bench \\
        python benchmarks/monitoring.py [--rows 1000000] [--days 30] [--repeat 5]

Seeds ``--rows`` CallAttempt rows spread over ``--days`` (one INSERT ...
SELECT over generate_series, seconds for a million rows; skipped when the
table already holds that many, ``--reseed`` forces it), then times
``stats.report()`` and its three queries for each period and prints EXPLAIN
(ANALYZE, BUFFERS) of the main aggregate and of the top-phones query.

``--candidate-indexes`` repeats the timings with extra indexes created in
the benchmark database only (see CANDIDATES), to weigh a models.py change.

The DSN may also come from the libpq variables (PGHOST, PGPORT, PGUSER,
PGDATABASE, PGPASSWORD). The database must exist; its tables are created by
``migrate``. Not run by CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLE = "django_flashcall_callattempt"

# Weights of the seeded outcomes, close to a real site with some abuse.
# (%% is a literal % here: the statement has %(name)s parameters.)
SEED_SQL = f"""
INSERT INTO {TABLE} (
    public_id, phone, channel, sms_fallback, status, reason, error, code_hash,
    provider_id, checks_used, phone_only_checks, ip, user_agent, created_at, expires_at,
    verified_at,
    delivery_status, delivery_info, price, status_checked_at, provider, failed_before
)
SELECT
    gen_random_uuid(),
    CASE WHEN r2 < 0.02 THEN '7900000' || lpad((g %% 50)::text, 4, '0')  -- 50 noisy phones
         ELSE '79' || lpad((floor(r2 * 400000000))::bigint::text, 9, '0') END,
    CASE WHEN status = 'refused' THEN 'none' ELSE 'call' END,
    false,
    status,
    CASE status WHEN 'refused' THEN (ARRAY['cooldown', 'phone_daily_limit', 'phone_locked',
                                           'concurrent_request'])[1 + (g %% 4)]
                WHEN 'failed' THEN (ARRAY['timeout', 'connection', 'server_error'])[1 + (g %% 3)]
                ELSE '' END,
    '',
    md5(g::text) || md5((g + 1)::text),
    CASE WHEN status IN ('refused', 'failed') THEN '' ELSE g::text END,
    CASE status WHEN 'exhausted' THEN 3 WHEN 'verified' THEN (g %% 2) ELSE 0 END,
    0,
    CASE WHEN r2 < 0.02 THEN ('10.66.0.' || (g %% 20))::inet
         ELSE ('10.' || (g %% 200) || '.' || ((g / 200) %% 250) || '.' || (g %% 250))::inet END,
    'bench',
    created_at,
    created_at + interval '5 minutes',
    CASE WHEN status = 'verified' THEN created_at + interval '20 seconds' END,
    CASE WHEN status IN ('refused', 'failed') THEN NULL ELSE (g %% 10 <> 0) END,
    '',
    CASE WHEN status IN ('refused', 'failed') THEN NULL ELSE 0.2 END,
    NULL,
    CASE WHEN status = 'refused' THEN '' ELSE (ARRAY['telefonip', 'backup'])[1 + (g %% 2)] END,
    ''
FROM (
    SELECT g, r2,
           now() - ((%(rows)s - g) * %(step)s) * interval '1 second' AS created_at,
           CASE WHEN r < 0.55 THEN 'verified' WHEN r < 0.70 THEN 'expired'
                WHEN r < 0.73 THEN 'exhausted' WHEN r < 0.74 THEN 'pending'
                WHEN r < 0.77 THEN 'failed' ELSE 'refused' END AS status
    FROM (SELECT g, random() AS r, random() AS r2 FROM generate_series(1, %(rows)s) AS g) AS s
) AS seeded
"""

# Indexes to try with --candidate-indexes: (name, DDL).
CANDIDATES = [
    (
        "bench_created_covering",
        f"CREATE INDEX bench_created_covering ON {TABLE} (created_at) "
        "INCLUDE (status, reason, checks_used, price, delivery_status)",
    ),
    (
        "bench_noisy_created",
        f"CREATE INDEX bench_noisy_created ON {TABLE} (created_at) "
        "INCLUDE (phone, ip, status, checks_used) "
        "WHERE status = 'refused' OR checks_used > 0",
    ),
]


def database_from_env() -> dict:
    dsn = os.environ.get("FLASHCALL_BENCH_DSN", "")
    if dsn:
        url = urlsplit(dsn)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(url.path.lstrip("/")) or "postgres",
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
        }
    if not os.environ.get("PGDATABASE"):
        sys.exit("Set FLASHCALL_BENCH_DSN=postgresql://user@host:port/db (or PGHOST, PGDATABASE…)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
    }


def setup_django() -> None:
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
        DATABASES={"default": database_from_env()},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        FLASHCALL_PROVIDER="django_flashcall.providers.SandboxProvider",
    )
    django.setup()


def seed(rows: int, days: float, reseed: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        have = cursor.fetchone()[0]
        if have == rows and not reseed:
            print(f"table holds {have:,} rows: reusing them (--reseed to start over)")
            return
        started = time.perf_counter()
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY")
        cursor.execute(SEED_SQL, {"rows": rows, "step": days * 86400 / rows})
        seeded = time.perf_counter() - started
    connection.close()  # VACUUM cannot run in a transaction block
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{TABLE}'))")
        size = cursor.fetchone()[0]
    print(f"seeded {rows:,} rows over {days:g} days in {seeded:.1f} s; table + indexes: {size}")


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best, median) wall time of ``fn()`` in ms, after one warm-up run."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return min(runs), statistics.median(runs)


def time_stats(repeat: int) -> None:
    from django_flashcall.internal.clock import now
    from django_flashcall.monitoring import stats

    print(f"\n{'period':<7}{'query':<22}{'best ms':>10}{'median ms':>11}")
    for key in ("1d", "7d", "30d"):
        period = stats.get_period(key)
        until = now()
        since = until - period.length
        window = (since, until)
        parts = [
            ("report() (3 queries)", lambda p=period: stats.report(p)),
            ("breakdown", lambda w=window, b=period.bucket: list(stats.breakdown(*w, b))),
            ("top phones", lambda w=window: stats.top_offenders("phone", *w)),
            ("top IPs", lambda w=window: stats.top_offenders("ip", *w)),
        ]
        for name, fn in parts:
            best, median = timed(fn, repeat)
            print(f"{key:<7}{name:<22}{best:>10.1f}{median:>11.1f}")
        summary = stats.report(period).summary
        print(
            f"{'':7}rows in window: {summary.requests:,}, placed {summary.placed:,}, "
            f"refused {summary.refused:,}"
        )


def explain() -> None:
    from django_flashcall.internal.clock import now
    from django_flashcall.monitoring import stats

    for key in ("1d", "30d"):
        period = stats.get_period(key)
        until = now()
        since = until - period.length
        plan = stats.breakdown(since, until, period.bucket).explain(analyze=True, buffers=True)
        uses = "yes" if "flashcall_created_status" in plan else "no"
        print(
            f"\n=== EXPLAIN ANALYZE breakdown, {key} (uses (created_at, status) index: {uses}) ==="
        )
        print(plan)
    until = now()
    since = until - stats.get_period("30d").length
    plan = stats.offenders("phone", since, until).explain(analyze=True, buffers=True)
    print("\n=== EXPLAIN ANALYZE top phones, 30d ===")
    print(plan)


def candidate_indexes(repeat: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, ddl in CANDIDATES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
            started = time.perf_counter()
            cursor.execute(ddl)
            print(f"\ncreated {name} in {time.perf_counter() - started:.1f} s: {ddl}")
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        cursor.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) "
            "FROM pg_stat_user_indexes WHERE relname = %s ORDER BY 1",
            [TABLE],
        )
        for name, size in cursor.fetchall():
            print(f"  index {name}: {size}")
    try:
        time_stats(repeat)
        explain()
    finally:
        with connection.cursor() as cursor:
            for name, _ in CANDIDATES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30, help="spread the rows over N days")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--candidate-indexes", action="store_true")
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW max_parallel_workers_per_gather")
        workers = cursor.fetchone()[0]
    print(f"PostgreSQL {version}, max_parallel_workers_per_gather={workers}")
    seed(args.rows, args.days, args.reseed)
    time_stats(args.repeat)
    if not args.no_explain:
        explain()
    if args.candidate_indexes:
        print("\n##### with candidate indexes #####")
        candidate_indexes(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
