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
import weakref
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError

logger = logging.getLogger("django_flashcall")

_PLACEHOLDER = re.compile(r"%[s%]")
# SQLSTATE: a prepared statement of that name does not exist / already does.
_MISSING, _EXISTS = "26000", "42P05"
# Database aliases where a prepared statement vanished: plain SQL there from now on.
_STOPPED: set[str] = set()
# The names prepared on each DB-API connection (a new connection has none).
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
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
    """Whether statements are prepared on the server for ``connection``."""
    settings = connection.settings_dict
    return (
        connection.vendor == "postgresql"
        and not settings.get("DISABLE_SERVER_SIDE_CURSORS")
        and settings.get("OPTIONS", {}).get("server_side_binding") is not True
        and connection.alias not in _STOPPED
    )


def _sqlstate(error: BaseException) -> str | None:
    cause = error.__cause__ if isinstance(error, DatabaseError) else error
    # psycopg 3 names it sqlstate, psycopg2 pgcode.
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


class Statement:
    """One statement's prepared form, for one Django connection."""

    __slots__ = ("execute_sql", "name", "prepare_sql", "sql", "usable")

    def __init__(self, sql: str, parameters: int) -> None:
        self.sql = sql
        self.name = "flashcall_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
        self.prepare_sql = f"PREPARE {self.name} AS {numbered(sql)}"
        values = f"({', '.join(['%s'] * parameters)})" if parameters else ""
        self.execute_sql = f"EXECUTE {self.name}{values}"
        self.usable = True  # False: PostgreSQL refused to prepare it
        _TEXTS[self.name] = sql

    def execute(self, cursor: Any, connection: Any, params: Sequence[Any]) -> None:
        if not (self.usable and enabled(connection)) or not self._prepared(connection):
            cursor.execute(self.sql, params)
            return
        try:
            cursor.execute(self.execute_sql, params)
        except DatabaseError as error:
            if _sqlstate(error) != _MISSING:
                raise
            _STOPPED.add(connection.alias)
            _PREPARED.pop(connection.connection, None)  # whatever else it held went too
            logger.warning(
                "django_flashcall: a prepared statement vanished from database %r "
                "(DEALLOCATE, or a transaction-pooling proxy such as PgBouncer: set "
                "DISABLE_SERVER_SIDE_CURSORS for it); plain SQL from now on",
                connection.alias,
            )
            if not connection.get_autocommit():
                raise  # the transaction is lost with it
            cursor.execute(self.sql, params)

    def _prepared(self, connection: Any) -> bool:
        """Prepare on the connection's current DB-API connection, once.
        False if PostgreSQL will not prepare it (then it never is)."""
        raw = connection.connection
        try:
            names = _PREPARED.setdefault(raw, set())
        except TypeError:  # a driver whose connections take no weak reference
            return False
        if self.name in names:
            return True
        # Inside a transaction a failed PREPARE would abort it: a savepoint
        # keeps it whole. PREPARE is not transactional; what it made stays.
        in_transaction = not connection.get_autocommit()
        with connection.wrap_database_errors, raw.cursor() as cursor:
            if in_transaction:
                cursor.execute("SAVEPOINT flashcall_prepare")
            try:
                cursor.execute(self.prepare_sql)
            except connection.Database.Error as error:
                if in_transaction:
                    cursor.execute("ROLLBACK TO SAVEPOINT flashcall_prepare")
                if _sqlstate(error) != _EXISTS:  # there already: the same text
                    self.usable = False
                    logger.debug("django_flashcall: not prepared (%s): %s", error, self.sql)
            if in_transaction:
                cursor.execute("RELEASE SAVEPOINT flashcall_prepare")
        if self.usable:
            names.add(self.name)
        return self.usable


def original(sql: str) -> str:
    """The SQL behind ``EXECUTE flashcall_…(…)`` (``sql`` itself otherwise):
    for an ``execute_wrapper`` or a log that looks at what a statement does."""
    if sql.startswith("EXECUTE flashcall_"):
        return _TEXTS.get(sql[8:].partition("(")[0], sql)
    return sql


def prepared_on(connection: Any) -> set[str]:
    """The names prepared on ``connection``'s current DB-API connection."""
    return set(_PREPARED.get(connection.connection, ()))
