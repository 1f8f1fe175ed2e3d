"""Refusals and wrong codes per phone and IP, per UTC hour and day, kept
by PostgreSQL itself.

The monitoring page lists the phones and IPs with the most refusals plus
wrong codes over a window of up to 30 days. Grouping the window's noisy
rows takes seconds at ten million rows (a quarter of them are noisy, nearly
all from distinct phones). :class:`~django_flashcall.models.OffenderCount`
holds, per (kind, key, bucket), the refused rows and the wrong codes of the
attempts created in that bucket; :mod:`.offenders` finds an exact top N from
it without reading every key.

Buckets are UTC hours and UTC days (``hours`` 1 or 24, ``start`` in hours
since the epoch): a window is two instants, so no time zone enters.

Triggers on the attempt table keep the counts equal to the rows, like
:mod:`.counts`: once per statement, over its transition tables, grouped,
upserted in key order (concurrent statements lock count rows in the same
order). Only noisy rows (refused, or ``checks_used`` > 0) are expanded, so
the happy request and confirm write nothing here: the trigger looks for a
noisy row among the statement's rows, finds none and returns (running the
grouped upsert over no row was an eighth of PostgreSQL's work per flow).
Deletes (``flashcall_cleanup``) and updates subtract; count
rows that fall to zero are deleted by the statement that zeroed them (only
rows it has already locked), so the table shrinks with retention.

PostgreSQL only. SQLite sites are small (one writer, one process): there
:mod:`.offenders` groups the rows as before, and no trigger is installed.
"""

# ruff: noqa: S608  (the SQL is built from this module's constants, never from input)
from __future__ import annotations

from typing import Any

ATTEMPTS = "django_flashcall_callattempt"
OFFENDERS = "django_flashcall_offendercount"
COLUMNS = "kind, key, hours, start"
NOISY = "(status = 'refused' OR checks_used > 0)"
HOUR = "floor(extract(epoch FROM created_at) / 3600)::bigint"
# host(): the address without its /32 or /128, as Django reads an inet.
EXPAND = f"""
SELECT k.kind, k.key, b.hours, b.start, {{sign}}(t.status = 'refused')::int AS refused,
       {{sign}}t.checks_used AS wrong
FROM (SELECT phone, ip, status, checks_used, {HOUR} AS hour
      FROM {{table}} WHERE {NOISY}) AS t
CROSS JOIN LATERAL (VALUES ('phone', t.phone), ('ip', host(t.ip))) AS k (kind, key)
CROSS JOIN LATERAL (VALUES (1, t.hour), (24, t.hour - t.hour % 24)) AS b (hours, start)
WHERE k.key IS NOT NULL"""


def _expand(table: str, sign: str) -> str:
    return EXPAND.format(table=table, sign=sign)


def _upsert(tables: list[tuple[str, str]]) -> str:
    rows = " UNION ALL ".join(_expand(table, sign) for table, sign in tables)
    return (
        f"INSERT INTO {OFFENDERS} AS c ({COLUMNS}, refused, wrong, score) "
        f"SELECT {COLUMNS}, sum(refused), sum(wrong), sum(refused) + sum(wrong) "
        f"FROM ({rows}) AS d GROUP BY {COLUMNS} "
        f"HAVING sum(refused) <> 0 OR sum(wrong) <> 0 ORDER BY {COLUMNS} "
        "ON CONFLICT (kind, key, hours, start) DO UPDATE SET "
        "refused = c.refused + excluded.refused, wrong = c.wrong + excluded.wrong, "
        "score = c.score + excluded.score"
    )


# Only the old rows can take a count down, and the upsert above has locked
# every count row they touch: this delete takes no new lock.
PRUNE = (
    f"DELETE FROM {OFFENDERS} AS c USING (SELECT DISTINCT {COLUMNS} FROM "
    f"({_expand('old_rows', '')}) AS e) AS d "
    "WHERE c.kind = d.kind AND c.key = d.key AND c.hours = d.hours AND c.start = d.start "
    "AND c.refused = 0 AND c.wrong = 0"
)


def _quiet(*tables: str) -> str:
    """True when none of the transition ``tables`` holds a noisy row."""
    return " AND ".join(f"NOT EXISTS (SELECT FROM {table} WHERE {NOISY})" for table in tables)


# Migration 0007 replaces 0006's function with this one (same counts).
FUNCTION = f"""
CREATE OR REPLACE FUNCTION django_flashcall_offenders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF {_quiet("new_rows")} THEN RETURN NULL; END IF;
        {_upsert([("new_rows", "")])};
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        IF {_quiet("old_rows")} THEN RETURN NULL; END IF;
        {_upsert([("old_rows", "-")])};
    ELSE
        IF {_quiet("new_rows", "old_rows")} THEN RETURN NULL; END IF;
        {_upsert([("new_rows", ""), ("old_rows", "-")])};
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        {PRUNE};
    END IF;
    RETURN NULL;
END $$"""

INSTALL = [
    FUNCTION,
    f"""
CREATE OR REPLACE FUNCTION django_flashcall_offenders_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {OFFENDERS};
    RETURN NULL;
END $$""",
    f"CREATE TRIGGER django_flashcall_offenders_insert AFTER INSERT ON {ATTEMPTS} "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_offenders()",
    f"CREATE TRIGGER django_flashcall_offenders_update AFTER UPDATE ON {ATTEMPTS} "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_offenders()",
    f"CREATE TRIGGER django_flashcall_offenders_delete AFTER DELETE ON {ATTEMPTS} "
    "REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_offenders()",
    f"CREATE TRIGGER django_flashcall_offenders_truncate AFTER TRUNCATE ON {ATTEMPTS} "
    "FOR EACH STATEMENT EXECUTE FUNCTION django_flashcall_offenders_truncate()",
]

UNINSTALL = [
    *(
        f"DROP TRIGGER IF EXISTS django_flashcall_offenders_{op} ON {ATTEMPTS}"
        for op in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION IF EXISTS django_flashcall_offenders()",
    "DROP FUNCTION IF EXISTS django_flashcall_offenders_truncate()",
]

BACKFILL = (
    f"INSERT INTO {OFFENDERS} ({COLUMNS}, refused, wrong, score) "
    f"SELECT {COLUMNS}, sum(refused), sum(wrong), sum(refused) + sum(wrong) "
    f"FROM ({_expand(ATTEMPTS, '')}) AS d GROUP BY {COLUMNS} "
    "HAVING sum(refused) <> 0 OR sum(wrong) <> 0"
)


def install(schema_editor: Any) -> None:
    """Create the triggers and count the rows already there (a migration step)."""
    if not active(schema_editor.connection):
        return
    for sql in INSTALL:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(f"DELETE FROM {OFFENDERS}", params=None)
    # The grouping of every noisy row spills to disk with the default 4 MB
    # (about 2 million groups per million attempts): 53 s instead of 91 s
    # per million rows in a trial. For this transaction only.
    if schema_editor.connection.in_atomic_block:
        schema_editor.execute("SET LOCAL work_mem = '256MB'", params=None)
    schema_editor.execute(BACKFILL, params=None)


def replace_function(schema_editor: Any) -> None:
    """Install :data:`FUNCTION` over an older body (a migration step)."""
    if active(schema_editor.connection):
        schema_editor.execute(FUNCTION, params=None)


def uninstall(schema_editor: Any) -> None:
    if not active(schema_editor.connection):
        return
    for sql in UNINSTALL:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(f"DELETE FROM {OFFENDERS}", params=None)


def active(connection: Any) -> bool:
    """Whether the offender counts are kept on this database."""
    return bool(connection.vendor == "postgresql")
