"""The models and the shipped migrations agree (STYLE: one makemigrations --check test)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command(
            "makemigrations", "django_flashcall", "--check", "--dry-run", stdout=out, stderr=out
        )
    except SystemExit:  # --check exits 1 when a migration is missing
        pytest.fail(f"django_flashcall needs a new migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_migrations_apply_backwards_and_forwards():
    call_command("migrate", "django_flashcall", "zero", verbosity=0)
    call_command("migrate", "django_flashcall", verbosity=0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unapplying_the_counters_drops_the_budget_function():
    from django.db import connection

    def reserve_functions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'django_flashcall_reserve'"
            )
            return cursor.fetchone()[0]

    assert reserve_functions() == 1
    call_command("migrate", "django_flashcall", "0003", verbosity=0)
    assert reserve_functions() == 0
    call_command("migrate", "django_flashcall", verbosity=0)
    assert reserve_functions() == 1
