"""tests/contrib runs on tests.settings_contrib, whose INSTALLED_APPS hold
django-allauth, django-otp and django-two-factor-auth (scripts/runtests.py
starts it as its own pytest run). ``tests/conftest.py`` keeps the main run
from collecting it; this stops a run that names it explicitly."""

import os

import pytest

if not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith("settings_contrib"):
    pytest.exit(
        "tests/contrib needs --ds=tests.settings_contrib (scripts/runtests.py passes it)",
        returncode=pytest.ExitCode.USAGE_ERROR,
    )
