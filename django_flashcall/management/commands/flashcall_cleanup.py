"""``flashcall_cleanup``: delete attempts older than ``FLASHCALL_RETENTION_DAYS``.

It also tidies statuses: a pending attempt past its TTL becomes ``expired``
(so the admin's status filter and the monitoring page agree), and a
``calling`` row left by a process that died mid-call becomes ``failed``.

Deletes in primary-key windows of ``--batch-size`` rows, each its own short
statement, so a large purge never holds a long lock on the table. Suited to
a daily cron job.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Max, Min

from ...clock import now
from ...conf import flashcall_settings, timeout_total
from ...models import CallAttempt, Reason, Status


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
        cutoff = now() - timedelta(days=days)
        old = CallAttempt.objects.filter(created_at__lt=cutoff)
        # A "calling" row older than any provider request can take belongs to
        # a process that died mid-call: the call may have been placed, so it
        # keeps counting against the limits, now as a failure that says so.
        stale = CallAttempt.objects.filter(
            status=Status.CALLING, created_at__lt=now() - timedelta(seconds=timeout_total() + 60)
        )
        # Nobody typed the code in time: expired, as a confirm would mark it.
        lapsed = CallAttempt.objects.filter(status=Status.PENDING, expires_at__lte=now())
        if options["dry_run"]:
            count = old.count()
            self.stdout.write(f"Would delete {count} attempts created before {cutoff.isoformat()}.")
            self.stdout.write(f"Would mark {stale.count()} interrupted calls as failed.")
            self.stdout.write(f"Would mark {lapsed.count()} lapsed pending attempts as expired.")
            return
        expired = lapsed.update(status=Status.EXPIRED)
        if expired:
            self.stdout.write(f"Marked {expired} lapsed pending attempts as expired.")
        swept = stale.update(
            status=Status.FAILED,
            reason=Reason.TIMEOUT,
            error="interrupted: the process placing the call did not finish",
        )
        if swept:
            self.stdout.write(f"Marked {swept} interrupted calls as failed.")
        bounds = old.aggregate(lo=Min("pk"), hi=Max("pk"))
        lo, hi = bounds["lo"], bounds["hi"]
        deleted = batches = 0
        while lo is not None and lo <= hi:
            with transaction.atomic():
                n, _ = old.filter(pk__gte=lo, pk__lt=lo + batch).delete()
            deleted += n
            batches += 1
            if options["verbosity"] >= 2:
                self.stdout.write(f"  ids {lo}..{lo + batch - 1}: {n} deleted")
            # Jump over gaps in the ids (rows kept, or deleted earlier).
            lo = old.filter(pk__gte=lo + batch, pk__lte=hi).aggregate(lo=Min("pk"))["lo"]
            if lo is not None and options["sleep"]:
                time.sleep(options["sleep"])
        self.stdout.write(
            f"Deleted {deleted} attempts created before {cutoff.isoformat()} in {batches} batches."
        )
