"""Optional integrations with other Django authentication packages (SPEC §9).

Each sub-package imports its third-party package at import time: install the
matching extra (``django-flashcall[allauth]``, ``[otp]``, ``[two-factor]``)
before importing it.
"""
