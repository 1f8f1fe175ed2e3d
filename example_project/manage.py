#!/usr/bin/env python
"""The django-flashcall demo site: ``python manage.py migrate && python manage.py runserver``."""

import os
import sys
from pathlib import Path


def main() -> None:
    # Run from a checkout without installing: the app is one directory up.
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        os.environ["DJANGO_SETTINGS_MODULE"] = "example.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
