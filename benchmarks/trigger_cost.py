#!/usr/bin/env python3
"""What the offender counts' triggers cost a happy flow, in PostgreSQL CPU.

    python benchmarks/trigger_cost.py [--flows 3000] [--rounds 6]

Starts a throwaway PostgreSQL (``scripts/servers.py``), migrates, and runs
the attempt-table statements of a happy flow (insert ``calling``, update to
``pending``, update to ``verified``: three statements, each firing the
statement triggers) ``--flows`` times per block, in alternating blocks with
the offender triggers (``monitoring.offender_counts``) installed and
dropped. Reports the backend's CPU (``/proc/<pid>/stat``, user + system)
per flow, the median of ``--rounds`` blocks each way. Not run by CI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import setup_django  # noqa: E402
from scripts import servers  # noqa: E402

FLOW = [
    "INSERT INTO django_flashcall_callattempt (public_id, phone, channel, sms_fallback, "
    "status, reason, error, code_hash, provider, failed_before, provider_id, checks_used, "
    "phone_only_checks, ip, user_agent, created_at, delivery_info) VALUES "
    "(gen_random_uuid(), %s, 'call', false, 'calling', '', '', '', 'sandbox', '', '', 0, 0, "
    "'192.0.2.1', 'bench', now(), '') RETURNING id",
    "UPDATE django_flashcall_callattempt SET status = 'pending', provider_id = 'x' WHERE id = %s",
    "UPDATE django_flashcall_callattempt SET status = 'verified', verified_at = now() "
    "WHERE id = %s",
]


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def block(cursor: object, pid: int, flows: int, offset: int) -> float:
    """Backend CPU ms per happy flow over ``flows`` flows."""
    before = backend_cpu(pid)
    for i in range(flows):
        cursor.execute(FLOW[0], [f"79{offset + i:09d}"])  # type: ignore[attr-defined]
        attempt = cursor.fetchone()[0]  # type: ignore[attr-defined]
        cursor.execute(FLOW[1], [attempt])  # type: ignore[attr-defined]
        cursor.execute(FLOW[2], [attempt])  # type: ignore[attr-defined]
    return (backend_cpu(pid) - before) * 1000 / flows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="flashcall-triggers-", dir="/tmp"))
    os.chmod(tmp, 0o711)
    pg = servers.Postgres(tmp)
    try:
        pg.start()
        setup_django(pg.port)
        from django.core.management import call_command
        from django.db import connection

        from django_flashcall.monitoring import offender_counts

        call_command("migrate", verbosity=0)
        connection.set_autocommit(True)  # each statement its own transaction, as in a flow
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
            runs: dict[str, list[float]] = {"with": [], "without": []}
            block(cursor, pid, args.flows, 0)  # warm up
            for r in range(args.rounds):
                for mode in ("without", "with") if r % 2 else ("with", "without"):
                    sql = offender_counts.INSTALL if mode == "with" else offender_counts.UNINSTALL
                    for statement in sql:
                        cursor.execute(
                            statement.replace("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER")
                        )
                    offset = (2 * r + (mode == "with") + 1) * args.flows
                    runs[mode].append(block(cursor, pid, args.flows, offset))
            cursor.execute("SELECT count(*) FROM django_flashcall_offendercount")
            written = cursor.fetchone()[0]
        with_ms, without_ms = (statistics.median(runs[m]) for m in ("with", "without"))
        print(f"load: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"backend CPU per happy flow (3 statements), median of {args.rounds} blocks "
            f"of {args.flows}:"
        )
        print(f"  with the offender triggers:    {with_ms:.3f} ms  {sorted(runs['with'])}")
        print(f"  without them:                  {without_ms:.3f} ms  {sorted(runs['without'])}")
        print(
            f"  difference: {with_ms - without_ms:+.3f} ms per flow; "
            f"offender counts written: {written}"
        )
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
