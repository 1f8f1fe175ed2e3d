"""Prepared queries are prepared on the PostgreSQL server once per connection
(internal/server_prepared.py), and run as plain SQL where that cannot hold."""

from __future__ import annotations

import logging

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_flashcall.internal import server_prepared
from django_flashcall.internal.prepared import PreparedSelect, PreparedUpdate
from django_flashcall.models import CallAttempt, Status
from django_flashcall.services import confirm_code, request_code

PHONE = "79244501003"


def _by_phone(phone):
    return CallAttempt.objects.filter(phone=phone).order_by("pk").values_list("pk", "status")


def select() -> PreparedSelect:
    return PreparedSelect(_by_phone, CallAttempt, phone="phone")


def attempt(**fields) -> CallAttempt:
    values = {"phone": PHONE, "status": Status.PENDING, "created_at": timezone.now(), **fields}
    return CallAttempt.objects.create(**values)


def statement_of(query):
    """The server-side form of ``query`` on the default connection."""
    return query._plan(connections["default"]).server


def prepared_here() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


@pytest.fixture
def vanished():
    """A query prepared and run once, whose statement then vanishes from the
    server (``DEALLOCATE ALL``). Afterwards the test database prepares again."""
    query = select()
    row = attempt()
    assert query.rows(phone=PHONE) == [(row.pk, "pending")]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    yield query, row
    server_prepared._STOPPED.clear()


def test_placeholders_are_numbered_and_percent_signs_kept():
    sql = "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%' AND d IN (%s, %s)"
    assert server_prepared.numbered(sql) == (
        "SELECT a FROM t WHERE b = $1 AND c LIKE 'x%' AND d IN ($2, $3)"
    )


def test_no_parameters_no_parentheses():
    statement = server_prepared.Statement("SELECT 1", 0)
    assert statement.execute_sql == f"EXECUTE {statement.name}"
    assert statement.name == server_prepared.Statement("SELECT 1", 0).name
    assert statement.name != server_prepared.Statement("SELECT 2", 0).name


@pytest.mark.django_db
def test_sqlite_runs_the_plain_sql():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite side of it")
    query = select()
    row = attempt()
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(phone=PHONE) == [(row.pk, Status.PENDING)]
    assert captured.captured_queries[0]["sql"].startswith("SELECT")
    assert statement_of(query) is None


pg = pytest.mark.postgres


@pg
@pytest.mark.django_db
def test_prepared_once_then_executed_by_name():
    query = select()
    first, second = attempt(), attempt(status=Status.VERIFIED)
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(phone=PHONE) == [(first.pk, "pending"), (second.pk, "verified")]
        assert query.rows(phone="79244501009") == []
        assert query.rows(phone=PHONE) == [(first.pk, "pending"), (second.pk, "verified")]
    statement = statement_of(query)
    # One query per call, each by name; the one-time PREPARE is not a query of the call.
    sql = [q["sql"] for q in captured.captured_queries]
    assert len(sql) == 3
    assert all(s.startswith(f"EXECUTE {statement.name}(") for s in sql), sql
    assert statement.name in server_prepared.prepared_on(connection)
    text = prepared_here()[statement.name]
    assert "$1" in text and "%s" not in text and "django_flashcall_callattempt" in text


@pg
@pytest.mark.django_db
def test_updates_report_their_row_count_when_executed_by_name():
    row = attempt()
    count = PreparedUpdate(
        lambda pk: (CallAttempt.objects.filter(pk=pk, status=Status.PENDING), {"checks_used": 2}),
        CallAttempt,
        pk="pk",
    )
    assert count.run(pk=row.pk) == 1
    assert count.run(pk=row.pk + 1000) == 0
    row.refresh_from_db()
    assert row.checks_used == 2
    assert statement_of(count).name in prepared_here()


@pg
@pytest.mark.django_db
@pytest.mark.parametrize(
    "setting",
    [
        ("DISABLE_SERVER_SIDE_CURSORS", True),
        ("OPTIONS", {"server_side_binding": True}),
        ("CONN_MAX_AGE", 0),
    ],
    ids=["transaction pooling", "psycopg's own binding", "a connection per request"],
)
def test_not_prepared_where_the_site_says_so(monkeypatch, setting):
    key, value = setting
    monkeypatch.setitem(connection.settings_dict, key, value)
    # A statement of its own: no other test has prepared it on this connection.
    query = PreparedSelect(
        lambda phone: CallAttempt.objects.filter(phone=phone).values_list("pk", "status", "ip"),
        CallAttempt,
        phone="phone",
    )
    row = attempt()
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(phone=PHONE) == [(row.pk, "pending", None)]
    assert captured.captured_queries[0]["sql"].startswith("SELECT")
    assert statement_of(query).name not in server_prepared.prepared_on(connection)


@pg
@pytest.mark.django_db
def test_a_statement_postgres_will_not_prepare_runs_as_sql_and_keeps_the_transaction():
    # "$1 IS NULL": PostgreSQL cannot tell the type of a NULL there; plain SQL is fine.
    statement = server_prepared.Statement("SELECT %s IS NULL", 1)
    row = attempt()
    with connection.cursor() as cursor:
        statement.execute(cursor, connection, [None])
        assert cursor.fetchone() == (True,)
    assert statement.usable is False
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        statement.execute(cursor, connection, [None])
        assert cursor.fetchone() == (True,)
    assert captured.captured_queries[0]["sql"] == "SELECT NULL IS NULL"  # plain, no EXECUTE
    assert statement.name not in prepared_here()
    # The test's transaction is whole: it still reads.
    assert CallAttempt.objects.get(phone=PHONE).pk == row.pk


@pg
@pytest.mark.django_db
def test_a_name_already_prepared_is_the_statement_wanted():
    one, other = select(), select()  # the same SQL: the same name
    row = attempt()
    assert one.rows(phone=PHONE) == [(row.pk, "pending")]
    # PREPARE of the second gets "already exists", inside the test's transaction.
    assert other.rows(phone=PHONE) == [(row.pk, "pending")]
    assert statement_of(other).name in server_prepared.prepared_on(connection)
    assert statement_of(other).name == statement_of(one).name
    assert CallAttempt.objects.filter(phone=PHONE).count() == 1


@pg
@pytest.mark.django_db
def test_a_vanished_statement_fails_its_transaction_then_plain_sql(vanished, caplog):
    query, row = vanished
    with caplog.at_level(logging.WARNING, "django_flashcall"):
        with pytest.raises(DatabaseError), transaction.atomic():
            query.rows(phone=PHONE)
    assert "DISABLE_SERVER_SIDE_CURSORS" in caplog.text
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(phone=PHONE) == [(row.pk, "pending")]
    assert captured.captured_queries[0]["sql"].startswith("SELECT")


@pg
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_vanished_statement_is_rerun_as_sql(vanished, caplog):
    query, row = vanished
    with caplog.at_level(logging.WARNING, "django_flashcall"):
        assert query.rows(phone=PHONE) == [(row.pk, "pending")]
    assert "vanished" in caplog.text
    assert not server_prepared.enabled(connection)


@pg
@pytest.mark.django_db(transaction=True)
def test_prepared_again_on_a_new_connection():
    query = select()
    row = attempt()
    assert query.rows(phone=PHONE) == [(row.pk, "pending")]
    old = connection.connection
    connection.close()
    assert query.rows(phone=PHONE) == [(row.pk, "pending")]
    assert connection.connection is not old
    assert statement_of(query).name in server_prepared.prepared_on(connection)
    assert statement_of(query).name in prepared_here()


def test_the_sql_behind_a_name():
    statement = server_prepared.Statement("SELECT x FROM t WHERE y = %s", 1)
    assert server_prepared.original(statement.execute_sql) == "SELECT x FROM t WHERE y = %s"
    assert server_prepared.original("SELECT 1") == "SELECT 1"
    assert server_prepared.original("EXECUTE flashcall_unknown(%s)") == (
        "EXECUTE flashcall_unknown(%s)"
    )


@pg
@pytest.mark.django_db
def test_parameters_are_typed_by_their_values_not_by_the_column():
    # checks_used is a smallint: inferred from the column, $2 could not hold 40000.
    row = attempt(checks_used=3)
    under = PreparedUpdate(
        lambda pk, most: (
            CallAttempt.objects.filter(pk=pk, checks_used__lt=most),
            {"checks_used": 4},
        ),
        CallAttempt,
        pk="pk",
        most="checks_used",
    )
    assert under.run(pk=row.pk, most=40_000) == 1
    assert under.run(pk=row.pk, most=2) == 0
    assert statement_of(under).name in server_prepared.prepared_on(connection)


@pytest.fixture
def widened():
    """A query of its own, whose prepared statement the test makes stale;
    deallocated afterwards (PREPARE and DEALLOCATE outlive the transaction)."""
    query = PreparedSelect(
        lambda phone: CallAttempt.objects.filter(phone=phone).values_list("pk", "phone", "ip"),
        CallAttempt,
        phone="phone",
    )
    yield query
    name = statement_of(query).name
    if name in server_prepared._PREPARED.get(connection.connection, {}):
        with connection.cursor() as cursor:
            cursor.execute(f"DEALLOCATE {name}")
        server_prepared._PREPARED[connection.connection].pop(name)


@pg
@pytest.mark.django_db
@pytest.mark.parametrize("gone", [False, True], ids=["still there", "gone since"])
def test_a_column_that_changed_type_makes_the_statement_prepared_again(widened, gone):
    row = attempt()
    assert widened.rows(phone=PHONE) == [(row.pk, PHONE, None)]
    # What a migration run by another process does while this connection lives.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending events: ALTER may run
        cursor.execute("ALTER TABLE django_flashcall_callattempt ALTER COLUMN phone TYPE text")
    with pytest.raises(DatabaseError) as raised, transaction.atomic():
        widened.rows(phone=PHONE)
    assert server_prepared.lost(raised.value)
    name = statement_of(widened).name
    assert name not in server_prepared.prepared_on(connection)
    if gone:  # and then it vanished: DEALLOCATE finds nothing, PREPARE goes on
        with connection.cursor() as cursor:
            cursor.execute(f"DEALLOCATE {name}")
    # Deallocated and prepared again: the same rows, by name.
    with CaptureQueriesContext(connection) as captured:
        assert widened.rows(phone=PHONE) == [(row.pk, PHONE, None)]
    assert captured.captured_queries[0]["sql"].startswith("EXECUTE flashcall_")
    assert statement_of(widened).name in server_prepared.prepared_on(connection)


@pg
@pytest.mark.django_db
def test_a_confirm_whose_statement_vanished_is_run_again(flashcall_outbox, caplog):
    other, phone = "79244501004", "79244501005"
    request_code(other)
    confirm_code(other, flashcall_outbox[-1].code)  # the confirm's statements are prepared
    request_code(phone)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    try:
        with caplog.at_level(logging.WARNING, "django_flashcall"):
            attempt = confirm_code(phone, flashcall_outbox[-1].code)
    finally:
        server_prepared._STOPPED.clear()
    assert attempt.status == Status.VERIFIED
    assert "vanished" in caplog.text
    # Nothing counted twice: the run that failed was rolled back.
    assert CallAttempt.objects.get(pk=attempt.pk).checks_used == 0


def test_only_errors_marked_lost_are_lost():
    assert not server_prepared.lost(DatabaseError("anything"))
    error = DatabaseError("x")
    error.flashcall_lost = True
    assert server_prepared.lost(error)


@pytest.fixture
def lost_twice(monkeypatch):
    """confirm's locked step fails with statements lost by the server, as
    many times as the test says, then runs for real."""
    from django_flashcall.services import confirm

    real = confirm._confirm_locked
    state = {"calls": 0, "fail": 1, "lost": True, "user": False}

    def flaky(*args):
        state["calls"] += 1
        if state["calls"] <= state["fail"]:
            if state["user"]:  # lost once the user was looked up or made
                args[-1].append("user")
            error = DatabaseError("prepared statement lost")
            if state["lost"]:
                error.flashcall_lost = True
            raise error
        return real(*args)

    monkeypatch.setattr(confirm, "_confirm_locked", flaky)
    return state


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fail", "lost", "user", "calls", "verified"),
    [
        (1, True, False, 2, True),
        (2, True, False, 2, False),
        (1, False, False, 1, False),
        (1, True, True, 1, False),
    ],
    ids=[
        "lost once: run again",
        "lost twice: raised",
        "another error: raised at once",
        "lost after the user step: raised (its receivers heard it)",
    ],
)
def test_confirm_runs_again_once_after_a_lost_statement(
    lost_twice, flashcall_outbox, fail, lost, user, calls, verified
):
    lost_twice.update(fail=fail, lost=lost, user=user)
    request_code(PHONE)
    code = flashcall_outbox[-1].code
    if verified:
        assert confirm_code(PHONE, code).status == Status.VERIFIED
    else:
        with pytest.raises(DatabaseError):
            confirm_code(PHONE, code)
        assert CallAttempt.objects.get(phone=PHONE).status == Status.PENDING
    assert lost_twice["calls"] == calls


@pytest.mark.django_db
def test_a_statement_lost_at_the_user_step_is_not_run_again(monkeypatch, flashcall_outbox):
    from django_flashcall.internal import users

    calls = []

    def lost(*args, **kwargs):
        calls.append(args)
        error = DatabaseError("prepared statement lost")
        error.flashcall_lost = True
        raise error

    monkeypatch.setattr(users, "resolve", lost)
    request_code(PHONE)
    with pytest.raises(DatabaseError):
        confirm_code(PHONE, flashcall_outbox[-1].code)
    assert len(calls) == 1  # a user step may have signalled: not repeated
    assert CallAttempt.objects.get(phone=PHONE).status == Status.PENDING
