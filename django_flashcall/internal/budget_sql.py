"""The budget's reservation as one PostgreSQL function (:mod:`.budget`),
installed and removed by migration 0004."""

from __future__ import annotations

from typing import Any

# The reservation in one statement, for PostgreSQL: the same steps as
# _locked_ledger, _bring_up_to_date and the insert, in a function the
# request calls in autocommit. One round trip instead of six (BEGIN, the
# lock, the sweep, the ledger's update, the insert, COMMIT): with the budget
# set, a request costs what it costs without. Each statement of a plpgsql
# function takes a fresh snapshot, so the sweep, after the lock, sees what
# the previous holder committed. The row comes as JSON (column → value) and
# the insert names its keys, so a migration that adds a column needs no new
# function. Returns the new row's id, or NULL when the budget is spent.
PG_RESERVE = """
CREATE OR REPLACE FUNCTION django_flashcall_reserve(
    p_at timestamptz, p_budget bigint, p_called text[], p_not_placed text[], p_free text[],
    p_row json
) RETURNS bigint LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    l django_flashcall_budgetledger%ROWTYPE;
    edge timestamptz := p_at - interval '1 day';
    new_swept timestamptz;
    dropped bigint;
    added bigint;
    extra bigint;
    top bigint;
    cols text;
    new_id bigint;
BEGIN
    SELECT * INTO l FROM django_flashcall_budgetledger WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO django_flashcall_budgetledger (id, calls, swept_to, last_id)
        VALUES (1, 0, '2000-01-01 00:00:00+00', 0) ON CONFLICT (id) DO NOTHING;
        SELECT * INTO l FROM django_flashcall_budgetledger WHERE id = 1 FOR UPDATE;
    END IF;
    new_swept := greatest(l.swept_to, edge);
    SELECT
        count(*) FILTER (WHERE called AND id <= l.last_id
                         AND created_at >= l.swept_to AND created_at < new_swept),
        count(*) FILTER (WHERE called AND id > l.last_id AND created_at >= new_swept),
        count(*) FILTER (WHERE called AND created_at >= edge AND created_at < l.swept_to),
        max(id) FILTER (WHERE id > l.last_id)
    INTO dropped, added, extra, top
    FROM (
        SELECT id, created_at,
               status = ANY (p_called)
               AND NOT (status = 'failed' AND reason = ANY (p_not_placed))
               AND channel <> ALL (p_free) AS called
        FROM django_flashcall_callattempt
        WHERE (id <= l.last_id AND created_at >= l.swept_to AND created_at < new_swept)
           OR id > l.last_id
           OR (created_at >= edge AND created_at < l.swept_to)
    ) AS a;
    l.calls := l.calls - dropped + added;
    UPDATE django_flashcall_budgetledger
    SET calls = l.calls, swept_to = new_swept, last_id = greatest(l.last_id, coalesce(top, 0))
    WHERE id = 1;
    IF l.calls + extra >= p_budget THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(quote_ident(k), ', ') INTO cols FROM json_object_keys(p_row) AS k;
    EXECUTE format(
        'INSERT INTO django_flashcall_callattempt (%1$s) SELECT %1$s '
        'FROM json_populate_record(NULL::django_flashcall_callattempt, $1) RETURNING id',
        cols
    ) INTO new_id USING p_row;
    RETURN new_id;
END $$
"""
# Its whole signature: DROP FUNCTION IF EXISTS with another one drops nothing.
PG_RESERVE_DROP = (
    "DROP FUNCTION IF EXISTS "
    "django_flashcall_reserve(timestamptz, bigint, text[], text[], text[], json)"
)


def install(schema_editor: Any) -> None:
    """Create :data:`PG_RESERVE` on PostgreSQL (a migration step)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_RESERVE, params=None)


def uninstall(schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_RESERVE_DROP, params=None)
