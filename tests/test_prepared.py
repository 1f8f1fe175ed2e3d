"""Prepared queries (internal/prepared.py) give what the ORM gives, on every run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.db.models import F
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_flashcall.internal import saves
from django_flashcall.internal.prepared import PreparedSelect, PreparedUpdate, every_column
from django_flashcall.internal.saves import insert, save_fields
from django_flashcall.models import CallAttempt, PhoneNumber, Status

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
COLUMNS = ("status", "created_at", "checks_used", "expires_at", "pk")

ROWS = PreparedSelect(
    lambda phone, since: (
        CallAttempt.objects.filter(phone=phone, created_at__gte=since)
        .order_by("created_at")
        .values_list(*COLUMNS)
    ),
    CallAttempt,
    phone="phone",
    since="created_at",
)
NEWEST = PreparedSelect(
    lambda phone: (
        CallAttempt.objects.filter(phone=phone)
        .order_by("-created_at")
        .values_list(*every_column(CallAttempt))[:1]
    ),
    CallAttempt,
    phone="phone",
)
COUNT = PreparedUpdate(
    lambda pk, most: (
        CallAttempt.objects.filter(pk=pk, checks_used__lt=most),
        {"checks_used": F("checks_used") + 1},
    ),
    CallAttempt,
    pk="pk",
    most="checks_used",
)


def attempt(minutes_ago: int = 0, **fields) -> CallAttempt:
    created = timezone.now() - timedelta(minutes=minutes_ago)
    values = {"phone": PHONE, "status": Status.PENDING, "created_at": created, **fields}
    return CallAttempt.objects.create(**values)


def orm_rows(since):
    return list(
        CallAttempt.objects.filter(phone=PHONE, created_at__gte=since)
        .order_by("created_at")
        .values_list(*COLUMNS)
    )


def test_rows_are_the_orms_with_values_converted():
    attempt(90)
    attempt(30, expires_at=timezone.now() + timedelta(minutes=5), checks_used=2)
    attempt(10, phone="79244501004")
    since = timezone.now() - timedelta(hours=1)

    rows = ROWS.rows(phone=PHONE, since=since)

    assert rows == orm_rows(since)
    assert len(rows) == 1 and rows[0][1].tzinfo is not None  # an aware datetime on SQLite too


def test_every_call_runs_its_statement():
    since = timezone.now() - timedelta(hours=1)
    assert ROWS.rows(phone=PHONE, since=since) == []
    made = attempt(5)
    with CaptureQueriesContext(connection) as queries:
        assert [row[-1] for row in ROWS.rows(phone=PHONE, since=since)] == [made.pk]
    assert len(queries) == 1
    # The SQL itself, or on PostgreSQL its server-side prepared form by name.
    assert queries[0]["sql"].startswith(("SELECT", "EXECUTE flashcall_")), queries[0]["sql"]


def test_an_instance_is_the_orms():
    attempt(20)
    newest = attempt(1, checks_used=1)
    found = NEWEST.instance(phone=PHONE)
    assert isinstance(found, CallAttempt) and not found._state.adding
    expected = CallAttempt.objects.get(pk=newest.pk)
    for name in every_column(CallAttempt):
        assert getattr(found, name) == getattr(expected, name), name
    assert NEWEST.instance(phone="79244501009") is None


def test_an_update_counts_its_rows_and_uses_expressions():
    made = attempt(checks_used=1)
    assert COUNT.run(pk=made.pk, most=3) == 1
    assert COUNT.run(pk=made.pk, most=3) == 1
    assert COUNT.run(pk=made.pk, most=3) == 0  # checks_used is 3: not < 3
    made.refresh_from_db()
    assert made.checks_used == 3


def test_a_parameter_the_query_does_not_use_is_refused():
    ignoring = PreparedSelect(
        lambda phone: CallAttempt.objects.values_list("pk"), CallAttempt, phone="phone"
    )
    with pytest.raises(AssertionError, match="'phone' not found"):
        ignoring.rows(phone=PHONE)


def test_insert_writes_the_row_and_sets_the_key():
    new = CallAttempt(phone=PHONE, status=Status.CALLING, created_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        insert(new)
    assert len(queries) == 1
    assert new.pk is not None and not new._state.adding
    stored = CallAttempt.objects.get(pk=new.pk)
    assert (stored.public_id, stored.phone, stored.status) == (new.public_id, PHONE, "calling")


def test_save_fields_writes_only_those_fields():
    made = attempt()
    CallAttempt.objects.filter(pk=made.pk).update(error="kept")
    made.status, made.code_hash, made.error = Status.VERIFIED, "h", "not written"
    save_fields(made, ["status", "code_hash"])
    stored = CallAttempt.objects.get(pk=made.pk)
    assert (stored.status, stored.code_hash, stored.error) == ("verified", "h", "kept")


def test_save_fields_of_a_deleted_row_fails_like_save():
    made = attempt()
    CallAttempt.objects.filter(pk=made.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_fields(made, ["status"])


def test_save_receivers_still_hear_the_writes():
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((type(instance).__name__, created, kwargs.get("update_fields")))

    post_save.connect(receiver, sender=CallAttempt, weak=False)
    post_save.connect(receiver, sender=PhoneNumber, weak=False)
    try:
        made = CallAttempt(phone=PHONE, status=Status.CALLING)
        insert(made)
        made.status = Status.PENDING
        save_fields(made, ["status"])
        user = get_user_model().objects.create_user("u")
        insert(PhoneNumber(user=user, phone=PHONE))
    finally:
        post_save.disconnect(receiver, sender=CallAttempt)
        post_save.disconnect(receiver, sender=PhoneNumber)
    assert heard == [
        ("CallAttempt", True, None),
        ("CallAttempt", False, frozenset({"status"})),
        ("PhoneNumber", True, None),
    ]


def test_a_field_without_a_sentinel_is_saved_by_the_orm():
    made = attempt()
    made.sms_fallback = True  # a BooleanField: no sentinel can stand for it
    save_fields(made, ["sms_fallback"])
    assert saves._UPDATES[(CallAttempt, ("sms_fallback",))] is None
    assert CallAttempt.objects.get(pk=made.pk).sms_fallback is True


# --------------------------------------------------------------------------- the hot path


def test_a_request_and_its_confirm_build_no_orm_query(
    client, settings, flashcall_outbox, monkeypatch
):
    """The whole view stack of a verify-only flow runs prepared statements
    only: no ``filter()`` resolved per call (what made it twice the peer's
    CPU). A new query on this path must be prepared too, or this fails."""
    from django.db.models.sql.query import Query

    settings.FLASHCALL_LOGIN = "none"
    owner = get_user_model().objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    json = "application/json"
    # Compile the statements once (the first use on a connection builds them).
    client.post("/api/flashcall/request/", {"phone": "79244501009"}, content_type=json)
    client.post(
        "/api/flashcall/confirm/",
        {"phone": "79244501009", "code": flashcall_outbox[-1].code},
        content_type=json,
    )

    built = []
    original = Query.add_q
    monkeypatch.setattr(Query, "add_q", lambda self, q: (built.append(q), original(self, q))[1])
    with CaptureQueriesContext(connection) as queries:
        assert (
            client.post("/api/flashcall/request/", {"phone": PHONE}, content_type=json).status_code
            == 201
        )
        answer = client.post(
            "/api/flashcall/confirm/",
            {"phone": PHONE, "code": flashcall_outbox[-1].code},
            content_type=json,
        )
    assert answer.json()["user_id"] == owner.pk
    assert built == []
    # request: the phone's rows, insert, update; confirm (by phone alone):
    # lock, the phone's rows, owner, one conditional update that also holds
    # the phone-alone bound (SPEC §10) (+ the savepoint pair of the test's
    # transaction).
    assert len(queries) == 3 + 4 + 2
