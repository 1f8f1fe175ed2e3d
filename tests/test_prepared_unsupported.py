"""Prepared statements (internal/prepared.py) outside the shapes they run
themselves: an UPDATE that would touch a parent table is refused when it is
prepared, and an INSERT on a database that cannot return the new key reads
it back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from django_flashcall.internal.prepared import PreparedUpdate
from django_flashcall.internal.saves import _PreparedInsert
from django_flashcall.models import CallAttempt, Status
from tests.testapp.models import LongNote

pytestmark = pytest.mark.django_db


def test_an_update_of_a_parent_tables_field_is_refused_before_it_runs():
    note = LongNote.objects.create(text="kept", more="x")
    retitle = PreparedUpdate(
        lambda pk: (LongNote.objects.filter(pk=pk), {"text": "changed"}), LongNote, pk="pk"
    )
    with pytest.raises(AssertionError, match="related updates are not supported"):
        retitle.run(pk=note.pk)
    note.refresh_from_db()
    assert note.text == "kept"


def test_an_insert_without_returning_reads_the_new_key_back(monkeypatch):
    # MySQL and SQLite before 3.35 cannot return it; SQLite can read it back
    # with the flag off (Django's PostgreSQL backend has no way to).
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite can stand in for a database without RETURNING")
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    before = CallAttempt.objects.create(phone="79244501003", status=Status.VERIFIED)
    new = CallAttempt(phone="79244501003", status=Status.CALLING, created_at=timezone.now())
    _PreparedInsert(CallAttempt).insert(new)  # a fresh plan: compiled without RETURNING
    assert new.pk is not None and new.pk != before.pk and not new._state.adding
    stored = CallAttempt.objects.get(pk=new.pk)
    assert (stored.public_id, stored.status) == (new.public_id, Status.CALLING)
