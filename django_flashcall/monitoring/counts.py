"""Attempt counts per quarter hour, kept by the database itself.

The monitoring page must not read a month of attempt rows: at ten million
rows that takes seconds. :class:`~django_flashcall.models.CallCount` holds,
per 15-minute slot of ``created_at`` (UTC), status and reason, the number
of attempts and the sums the page shows (wrong codes, spend, priced,
delivered, undelivered). Triggers on the attempt table keep it equal to the
rows through every write: the request path, confirms, admin actions,
``flashcall_cleanup`` (deletes included), ``flashcall_sync_status``, and a
test's ``objects.create()``. Nothing in Python has to remember to update
it, so it cannot drift when someone adds a write somewhere.

Why 15 minutes: every time zone in use today is a whole number of quarter
hours from UTC, so local hours and local days (DST included) are unions of
slots, and :mod:`.stats` can build any chart from them.

On PostgreSQL the triggers run once per statement over its transition
tables, grouped, in key order: a cleanup batch of 5,000 rows costs one
upsert per (slot, status, reason), and statements lock counter rows in the
same order. On SQLite they run per row. Other databases get no triggers;
:mod:`.stats` then reads the rows, as before.
"""

# ruff: noqa: S608  (the SQL is built from this module's constants, never from input)
from __future__ import annotations

from typing import Any

SLOT = 900  # seconds per slot
ATTEMPTS = "django_flashcall_callattempt"
COUNTS = "django_flashcall_callcount"
LEDGER = "django_flashcall_budgetledger"
# The counters' key: the slot, then attempt columns. A migration that adds
# a column to the key passes its own (the SQL of a migration must not
# change when this module does).
KEY = ("slot", "status", "reason", "provider", "failed_before")
SUMS = ("n", "wrong", "spend", "priced", "delivered", "undelivered")
VENDORS = ("postgresql", "sqlite")
PG_SLOT = f"floor(extract(epoch FROM {{row}}created_at) / {SLOT})::bigint"
# substr(): SQLite's strftime('%s') rounds fractional seconds, which would
# put 12:44:59.9 in the 12:45 slot.
SQLITE_SLOT = f"CAST(strftime('%s', substr({{row}}created_at, 1, 19)) AS INTEGER) / {SLOT}"


def _values(vendor: str, key: tuple[str, ...], row: str, sign: str) -> list[str]:
    """What one attempt adds (``sign`` ``""``) or takes (``"-"``), column by column."""
    if vendor == "postgresql":
        slot = PG_SLOT.format(row=row)
        flags = ("({r}price IS NOT NULL)::int", "({r}delivery_status IS TRUE)::int",
                 "({r}delivery_status IS FALSE)::int")  # fmt: skip
    else:
        slot = SQLITE_SLOT.format(row=row)
        flags = ("({r}price IS NOT NULL)", "({r}delivery_status IS 1)",
                 "({r}delivery_status IS 0)")  # fmt: skip
    sums = ["1", "{r}checks_used", "coalesce({r}price, 0)", *flags]
    return [slot, *(f"{row}{k}" for k in key[1:]), *(sign + x.format(r=row) for x in sums)]


def _pg_upsert(key: tuple[str, ...], tables: list[tuple[str, str]]) -> str:
    """One grouped upsert of the rows of the transition ``tables`` ((name, sign))."""
    columns = ", ".join(key + SUMS)
    rows = " UNION ALL ".join(
        f"SELECT {', '.join(_values('postgresql', key, '', sign))} FROM {table}"
        for table, sign in tables
    )
    k = ", ".join(key)
    sums = ", ".join(f"sum({s})" for s in SUMS)
    changed = " OR ".join(f"sum({s}) <> 0" for s in SUMS)
    update = ", ".join(f"{s} = c.{s} + excluded.{s}" for s in SUMS)
    return (
        f"INSERT INTO {COUNTS} AS c ({columns}) "
        f"SELECT {k}, {sums} FROM ({rows}) AS d ({columns}) "
        f"GROUP BY {k} HAVING {changed} ORDER BY {k} "
        f"ON CONFLICT ({k}) DO UPDATE SET {update}"
    )


def _pg_install(key: tuple[str, ...]) -> list[str]:
    new, old = ("new_rows", ""), ("old_rows", "-")
    return [
        f"""
CREATE OR REPLACE FUNCTION django_flashcall_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_upsert(key, [new])};
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_upsert(key, [old])};
    ELSE
        {_pg_upsert(key, [new, old])};
    END IF;
    RETURN NULL;
END $$""",
        # TRUNCATE (a benchmark's reset, a test database's flush) empties the
        # counts and starts the budget ledger over: ids may restart.
        f"""
CREATE OR REPLACE FUNCTION django_flashcall_count_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {COUNTS};
    DELETE FROM {LEDGER};
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER django_flashcall_count_insert AFTER INSERT ON {ATTEMPTS} "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_count()",
        f"CREATE TRIGGER django_flashcall_count_update AFTER UPDATE ON {ATTEMPTS} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_count()",
        f"CREATE TRIGGER django_flashcall_count_delete AFTER DELETE ON {ATTEMPTS} "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_count()",
        f"CREATE TRIGGER django_flashcall_count_truncate AFTER TRUNCATE ON {ATTEMPTS} "
        "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_count_truncate()",
    ]


PG_UNINSTALL = [
    *(
        f"DROP TRIGGER IF EXISTS django_flashcall_count_{op} ON {ATTEMPTS}"
        for op in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION IF EXISTS django_flashcall_count()",
    "DROP FUNCTION IF EXISTS django_flashcall_count_truncate()",
]


def _sqlite_upsert(key: tuple[str, ...], row: str, sign: str) -> str:
    columns = ", ".join(key + SUMS)
    values = ", ".join(_values("sqlite", key, row + ".", sign))
    update = ", ".join(f"{s} = {s} + excluded.{s}" for s in SUMS)
    return (
        f"INSERT INTO {COUNTS} ({columns}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {update};"
    )


def _sqlite_install(key: tuple[str, ...]) -> list[str]:
    watched = ", ".join(("created_at", *key[1:], "checks_used", "price", "delivery_status"))
    return [
        f"CREATE TRIGGER django_flashcall_count_insert AFTER INSERT ON {ATTEMPTS} "
        f"BEGIN {_sqlite_upsert(key, 'NEW', '')} END",
        f"CREATE TRIGGER django_flashcall_count_update AFTER UPDATE OF {watched} ON {ATTEMPTS} "
        f"BEGIN {_sqlite_upsert(key, 'OLD', '-')} {_sqlite_upsert(key, 'NEW', '')} END",
        f"CREATE TRIGGER django_flashcall_count_delete AFTER DELETE ON {ATTEMPTS} "
        f"BEGIN {_sqlite_upsert(key, 'OLD', '-')} END",
    ]


SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS django_flashcall_count_{op}" for op in ("insert", "update", "delete")
]


def backfill_sql(vendor: str, key: tuple[str, ...] = KEY) -> str:
    """``INSERT … SELECT`` of the counts of the attempt rows already there."""
    columns = ", ".join(key + SUMS)
    values = _values(vendor, key, "", "")
    groups = ", ".join(str(i + 1) for i in range(len(key)))
    selected = ", ".join([*values[: len(key)], *(f"sum({v})" for v in values[len(key) :])])
    return f"INSERT INTO {COUNTS} ({columns}) SELECT {selected} FROM {ATTEMPTS} GROUP BY {groups}"


def install(schema_editor: Any, key: tuple[str, ...] = KEY) -> None:
    """Create the triggers and count the rows already there (a migration step)."""
    vendor = schema_editor.connection.vendor
    if vendor not in VENDORS:
        return
    statements = _pg_install(key) if vendor == "postgresql" else _sqlite_install(key)
    for sql in statements:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(f"DELETE FROM {COUNTS}", params=None)
    schema_editor.execute(backfill_sql(vendor, key), params=None)


def uninstall(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in VENDORS:
        return
    for sql in PG_UNINSTALL if vendor == "postgresql" else SQLITE_UNINSTALL:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(f"DELETE FROM {COUNTS}", params=None)


def active(connection: Any) -> bool:
    """Whether the counts are kept on this database (the triggers exist there)."""
    return connection.vendor in VENDORS
