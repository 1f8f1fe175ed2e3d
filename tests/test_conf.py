"""conf.py: the settings object reads each setting once, and again after any
change Django announces (override_settings, pytest-django's fixture)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_flashcall.conf import DEFAULTS, _Setting, flashcall_settings


def test_a_changed_setting_is_seen_at_once(settings):
    assert flashcall_settings.CODE_TTL == DEFAULTS["CODE_TTL"]  # read, and kept
    settings.FLASHCALL_CODE_TTL = 42
    assert flashcall_settings.CODE_TTL == 42
    with override_settings(FLASHCALL_CODE_TTL=7):
        assert flashcall_settings.CODE_TTL == 7
    assert flashcall_settings.CODE_TTL == 42
    del settings.FLASHCALL_CODE_TTL
    assert flashcall_settings.CODE_TTL == DEFAULTS["CODE_TTL"]


def test_unset_settings_are_read_from_django_once(monkeypatch):
    from django.conf import settings as django_settings

    reads: list[str] = []
    real = type(django_settings).__getattr__

    def counting(self, name):
        reads.append(name)
        return real(self, name)

    flashcall_settings._forget()
    monkeypatch.setattr(type(django_settings), "__getattr__", counting)
    for _ in range(5):
        assert flashcall_settings.MAX_CHECKS == DEFAULTS["MAX_CHECKS"]
    assert reads.count("FLASHCALL_MAX_CHECKS") == 1


def test_every_setting_is_a_typed_attribute_and_nothing_else_is_read(settings):
    # Each default has its attribute (there is no catch-all): a new setting
    # without one fails here, not with an AttributeError in production.
    for name in DEFAULTS:
        assert isinstance(getattr(type(flashcall_settings), name, None), _Setting), name
        setattr(settings, f"FLASHCALL_{name}", f"sentinel-{name}")
        assert getattr(flashcall_settings, name) == f"sentinel-{name}"
    settings.FLASHCALL_NO_SUCH_SETTING = 1
    with pytest.raises(AttributeError):
        flashcall_settings.NO_SUCH_SETTING  # noqa: B018
