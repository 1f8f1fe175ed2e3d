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
