"""``flashcall_cleanup``: delete attempts older than ``FLASHCALL_RETENTION_DAYS``.

It also tidies statuses: a pending attempt past its TTL becomes ``expired``
(so the admin's status filter and the monitoring page agree), and a
``calling`` row left by a process that died mid-call becomes ``failed``.

The work is done by the sweeps in :mod:`django_flashcall.services`
(``expire_lapsed``, ``fail_interrupted_calls``, ``delete_before``, which
deletes in primary-key windows of ``--batch-size`` rows, each its own short
statement). Suited to a daily cron job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import services
from ...conf import flashcall_settings
from ...internal.clock import now
from ...models import CallAttempt


class Command(BaseCommand):
    help = "Delete call attempts older than FLASHCALL_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Keep this many days (default FLASHCALL_RETENTION_DAYS)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Primary keys per DELETE (default 5000)."
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=0.0,
            help="Seconds to pause between batches (lets replicas keep up).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = flashcall_settings.RETENTION_DAYS
        batch = options["batch_size"]
        # The limits (cooldown, daily limit, budget, failure lock) are counted
        # from the last 24 h of rows: deleting those would lift them all.
        if days is None or days < 1:
            raise CommandError(
                "--days must be at least 1: the last 24 h of attempts hold the limits."
            )
        if batch < 1:
            raise CommandError("--batch-size must be at least 1.")
        at = now()
        cutoff = at - timedelta(days=days)
        if options["dry_run"]:
            count = CallAttempt.objects.filter(created_at__lt=cutoff).count()
            stale = services.interrupted_calls(at).count()
            lapsed = CallAttempt.objects.lapsed(at).count()
            self.stdout.write(f"Would delete {count} attempts created before {cutoff.isoformat()}.")
            self.stdout.write(f"Would mark {stale} interrupted calls as failed.")
            self.stdout.write(f"Would mark {lapsed} lapsed pending attempts as expired.")
            return
        expired = services.expire_lapsed(at)
        if expired:
            self.stdout.write(f"Marked {expired} lapsed pending attempts as expired.")
        swept = services.fail_interrupted_calls(at)
        if swept:
            self.stdout.write(f"Marked {swept} interrupted calls as failed.")

        def progress(first: int, last: int, n: int) -> None:
            if options["verbosity"] >= 2:
                self.stdout.write(f"  ids {first}..{last}: {n} deleted")

        deleted, batches = services.delete_before(
            cutoff, batch_size=batch, pause=options["sleep"], progress=progress
        )
        self.stdout.write(
            f"Deleted {deleted} attempts created before {cutoff.isoformat()} in {batches} batches."
        )
