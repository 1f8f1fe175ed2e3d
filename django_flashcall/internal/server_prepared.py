"""Server-side prepared statements for :mod:`.prepared` on PostgreSQL.

With Django's default client-side binding, PostgreSQL parses and plans
every statement it is sent, and for the few short statements of a request
or a confirm that was most of its work: planning weighs every index of the
attempt table on every call. Here each statement is prepared once per
connection (``PREPARE``) and then run as ``EXECUTE name(values)``, which
goes through Django's cursor like any query (one statement, counted and
logged as one).

The name is a hash of the SQL text, so a name means one statement wherever
it is found: two processes that meet on one server connection (a pooler in
session mode) prepare the same text under the same name, and a name found
already prepared is the statement wanted.

Where preparing is not done:

* ``DISABLE_SERVER_SIDE_CURSORS`` in the database's settings: Django's
  switch for a transaction-pooling proxy (PgBouncer), where one connection's
  statements may run on different server connections;
* ``OPTIONS["server_side_binding"]``: psycopg then prepares statements
  itself, as the site configured it;
* a statement PostgreSQL will not prepare (a parameter whose type it cannot
  infer): it runs as plain SQL on that connection.

A prepared statement that vanished (``DEALLOCATE``, or a transaction-pooling
proxy nobody said was there) stops preparing on that database for the life
of the process, with a warning in the log; a statement outside a
transaction is rerun as plain SQL, one inside a transaction fails with it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
import weakref
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import DatabaseError

logger = logging.getLogger("django_flashcall")

_PLACEHOLDER = re.compile(r"%[s%]")
# SQLSTATE: a prepared statement of that name does not exist / already does /
# its plan no longer returns what it was prepared for (a column changed type).
_MISSING, _EXISTS, _STALE = "26000", "42P05", "0A000"
# Database aliases where a prepared statement vanished: plain SQL there from now on.
_STOPPED: set[str] = set()
# The names prepared on each DB-API connection (a new connection has none);
# False: there, but stale (a schema change), to be prepared again.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()
# Name → SQL of every statement made in this process (a few dozen at most).
_TEXTS: dict[str, str] = {}


def numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as ``$1 … $n``; ``%%`` is a literal ``%``."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


def enabled(connection: Any) -> bool:
    """Whether statements are prepared on the server for ``connection``:
    PostgreSQL, connections that outlive a request (``CONN_MAX_AGE``, or
    Django's pool: a new connection per request would prepare every
    statement anew and save nothing), and none of the settings above."""
    settings = connection.settings_dict
    options = settings.get("OPTIONS", {})
    return (
        connection.vendor == "postgresql"
        and (settings.get("CONN_MAX_AGE", 0) != 0 or bool(options.get("pool")))
        and not settings.get("DISABLE_SERVER_SIDE_CURSORS")
        and options.get("server_side_binding") is not True
        and connection.alias not in _STOPPED
    )


def lost(error: BaseException) -> bool:
    """Whether ``error`` is a prepared statement lost inside a transaction
    (the server dropped it, or a schema change made its plan stale). The
    transaction is gone with it, but the next run prepares again or sends
    plain SQL: a caller whose transaction did nothing else yet may run it
    again."""
    return bool(getattr(error, "flashcall_lost", False))


def _sqlstate(error: BaseException) -> str | None:
    cause = error.__cause__ if isinstance(error, DatabaseError) else error
    # psycopg 3 names it sqlstate, psycopg2 pgcode.
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def _type(value: Any) -> str:
    """The parameter type PREPARE declares for ``value``. Declared, not
    inferred from the column: ``checks_used < $1`` would make $1 a smallint,
    and a value plain SQL compares fine would not fit. ``unknown``: inferred
    from where the parameter is used (strings, NULL, addresses)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, datetime):
        return "timestamptz" if value.tzinfo is not None else "timestamp"
    if isinstance(value, date):
        return "date"
    if isinstance(value, uuid.UUID):
        return "uuid"
    return "unknown"


class Statement:
    """One statement's prepared form, for one Django connection."""

    __slots__ = ("execute_sql", "name", "sql", "usable")

    def __init__(self, sql: str, parameters: int) -> None:
        self.sql = sql
        self.name = "flashcall_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
        values = f"({', '.join(['%s'] * parameters)})" if parameters else ""
        self.execute_sql = f"EXECUTE {self.name}{values}"
        self.usable = True  # False: PostgreSQL refused to prepare it
        _TEXTS[self.name] = sql

    def execute(self, cursor: Any, connection: Any, params: Sequence[Any]) -> None:
        if not (self.usable and enabled(connection)) or not self._prepared(connection, params):
            cursor.execute(self.sql, params)
            return
        try:
            cursor.execute(self.execute_sql, params)
        except DatabaseError as error:
            state = _sqlstate(error)
            if state == _MISSING:
                _STOPPED.add(connection.alias)
                _PREPARED.pop(connection.connection, None)  # whatever else it held went too
                logger.warning(
                    "django_flashcall: a prepared statement vanished from database %r "
                    "(DEALLOCATE, or a transaction-pooling proxy such as PgBouncer: set "
                    "DISABLE_SERVER_SIDE_CURSORS for it); plain SQL from now on",
                    connection.alias,
                )
            elif state == _STALE:
                # A column it returns changed type (a migration while this
                # connection lived): deallocated and prepared again next time.
                prepared = _PREPARED.get(connection.connection)
                if prepared is not None:
                    prepared[self.name] = False
            else:
                raise
            if not connection.get_autocommit():
                error.flashcall_lost = True  # type: ignore[attr-defined]
                raise  # the transaction is lost with it
            cursor.execute(self.sql, params)

    def _prepared(self, connection: Any, params: Sequence[Any]) -> bool:
        """Prepare on the connection's current DB-API connection, once.
        False if PostgreSQL will not prepare it (then it never is)."""
        raw = connection.connection
        try:
            names = _PREPARED.setdefault(raw, {})
        except TypeError:  # a driver whose connections take no weak reference
            return False
        if names.get(self.name):
            return True
        types = f"({', '.join(_type(value) for value in params)})" if params else ""
        in_transaction = not connection.get_autocommit()
        with connection.wrap_database_errors, raw.cursor() as cursor:
            if self.name in names:  # stale: the old one goes first, if still there
                error = _send(cursor, f"DEALLOCATE {self.name}", in_transaction, connection)
                if error is not None and _sqlstate(error) != _MISSING:
                    names.pop(self.name, None)
                    raise error
            prepare = f"PREPARE {self.name}{types} AS {numbered(self.sql)}"
            error = _send(cursor, prepare, in_transaction, connection)
        if error is None or _sqlstate(error) == _EXISTS:  # there already: a name is its text
            names[self.name] = True
            return True
        if not (_sqlstate(error) or "").startswith("42"):
            # Not the statement's fault (a timeout, a lost connection): raised,
            # and the next use starts over.
            names.pop(self.name, None)
            with connection.wrap_database_errors:
                raise error
        # PostgreSQL will not prepare it (a parameter of no inferable type).
        self.usable = False
        logger.debug("django_flashcall: not prepared (%s): %s", error, self.sql)
        return False


def _send(cursor: Any, sql: str, in_transaction: bool, connection: Any) -> Exception | None:
    """Run ``sql`` on the raw ``cursor``; the driver's error, if any, is
    returned. Inside a transaction a savepoint keeps the transaction whole
    (PREPARE and DEALLOCATE are not transactional: what they did stays)."""
    if in_transaction:
        cursor.execute("SAVEPOINT flashcall_prepare")
    try:
        cursor.execute(sql)
    except connection.Database.Error as error:
        if in_transaction:
            cursor.execute("ROLLBACK TO SAVEPOINT flashcall_prepare")
            cursor.execute("RELEASE SAVEPOINT flashcall_prepare")
        return error
    if in_transaction:
        cursor.execute("RELEASE SAVEPOINT flashcall_prepare")
    return None


def original(sql: str) -> str:
    """The SQL behind ``EXECUTE flashcall_…(…)`` (``sql`` itself otherwise):
    for an ``execute_wrapper`` or a log that looks at what a statement does."""
    if sql.startswith("EXECUTE flashcall_"):
        return _TEXTS.get(sql[8:].partition("(")[0], sql)
    return sql


def prepared_on(connection: Any) -> set[str]:
    """The names prepared on ``connection``'s current DB-API connection."""
    return {name for name, fresh in _PREPARED.get(connection.connection, {}).items() if fresh}
