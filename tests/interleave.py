"""Deterministic interleaving: run "another process's" write at an exact
point of a service call, between two of its SQL statements.

The real races are tested with threads on PostgreSQL (test_concurrency.py),
where row locks usually make the guards below unreachable. SQLite has no row
locks, and even on PostgreSQL a guard that a lock makes redundant must still
be tested: these helpers place the competing write exactly where a
concurrent process could commit it, on any database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from django_flashcall.internal.server_prepared import original


@contextmanager
def interleave(
    when: Callable[[str], bool], action: Callable[[], None], *, after: bool = False
) -> Iterator[list[str]]:
    """Run ``action()`` once, just before (or ``after``) the first SQL
    statement for which ``when(sql)`` holds. Yields the statements seen until
    then; the test asserts the hook fired (``fired`` in the list)."""
    seen: list[str] = []
    state = {"done": False}

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # On PostgreSQL the app's statements run by name: match what they do.
        if state["done"] or not when(original(sql)):
            seen.append(sql)
            return execute(sql, params, many, context)
        state["done"] = True
        if not after:
            action()
            seen.append("fired")
            return execute(sql, params, many, context)
        result = execute(sql, params, many, context)
        action()
        seen.append("fired")
        return result

    with connection.execute_wrapper(wrapper):
        yield seen


def updates(table: str) -> Callable[[str], bool]:
    return lambda sql: sql.lstrip().upper().startswith("UPDATE") and table in sql


def selects(table: str) -> Callable[[str], bool]:
    return lambda sql: sql.lstrip().upper().startswith("SELECT") and table in sql
