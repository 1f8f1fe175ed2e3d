"""``services.delete_before`` (flashcall_cleanup's retention): batches of
primary keys, a pause between batches and none after the last, and a batch
size that cannot work refused before anything is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_flashcall.internal.clock import now
from django_flashcall.models import CallAttempt, Status
from django_flashcall.services import delete_before, staff

pytestmark = pytest.mark.django_db


def old_rows(n: int, days: int = 40) -> list[int]:
    created = now() - timedelta(days=days)
    rows = [CallAttempt(phone="79244501003", status=Status.VERIFIED) for _ in range(n)]
    made = CallAttempt.objects.bulk_create(rows)
    CallAttempt.objects.filter(pk__in=[r.pk for r in made]).update(created_at=created)
    return sorted(CallAttempt.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("size", [0, -5])
def test_a_batch_size_below_one_deletes_nothing(size):
    old_rows(3)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        delete_before(now() - timedelta(days=30), batch_size=size)
    assert CallAttempt.objects.count() == 3


def test_batches_pause_between_them_and_not_after_the_last(monkeypatch):
    pks = old_rows(5)
    kept = CallAttempt.objects.create(phone="79244501003", status=Status.PENDING).pk
    pauses: list[float] = []
    monkeypatch.setattr(staff.time, "sleep", pauses.append)
    seen: list[tuple[int, int, int]] = []

    deleted, batches = delete_before(
        now() - timedelta(days=30),
        batch_size=2,
        pause=0.25,
        progress=lambda lo, hi, n: seen.append((lo, hi, n)),
    )
    assert (deleted, batches) == (5, 3)
    assert seen == [(pks[0], pks[0] + 1, 2), (pks[2], pks[2] + 1, 2), (pks[4], pks[4] + 1, 1)]
    assert pauses == [0.25, 0.25]  # between the three batches only
    assert list(CallAttempt.objects.values_list("pk", flat=True)) == [kept]
