"""pytest fixtures for sites that use django-flashcall.

Enable in your root ``conftest.py``::

    pytest_plugins = ["django_flashcall.testing.pytest_plugin"]

``fake_telefonip`` and ``flashcall_outbox`` use pytest-django's ``settings``
fixture, so they need pytest-django. Django is imported inside the fixtures
only: this module imports before Django is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .fake_telefonip import FakeTelefonIP

if TYPE_CHECKING:
    from django_flashcall.providers.sandbox import SandboxCall


@pytest.fixture(scope="session")
def fake_telefonip_server() -> Iterator[FakeTelefonIP]:
    """One fake telefon-ip server for the whole session, on a free loopback port."""
    with FakeTelefonIP() as server:
        yield server


@pytest.fixture
def fake_telefonip(fake_telefonip_server: FakeTelefonIP, settings: Any) -> Iterator[FakeTelefonIP]:
    """The session's fake, reset, with the TelefonIP provider pointed at it.

    Sets ``FLASHCALL_PROVIDER``, ``FLASHCALL_API_URL``, ``FLASHCALL_API_TOKEN``
    and a short ``FLASHCALL_TIMEOUT`` of ``(1, 2)`` for this test.
    """
    server = fake_telefonip_server
    server.reset()
    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
    settings.FLASHCALL_API_URL = server.url
    settings.FLASHCALL_API_TOKEN = server.token
    settings.FLASHCALL_TIMEOUT = (1, 2)
    yield server
    server.reset()  # also wakes and drops any "slow" request still sleeping


@pytest.fixture
def flashcall_outbox(settings: Any) -> Iterator[list[SandboxCall]]:
    """``SandboxProvider.outbox``, emptied, with the sandbox as the provider."""
    from django_flashcall.providers import sandbox

    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.SandboxProvider"
    sandbox.outbox.clear()
    yield sandbox.outbox
    sandbox.outbox.clear()
