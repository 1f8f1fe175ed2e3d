"""pytest fixtures for sites that use django-flashcall.

Enable in your root ``conftest.py``::

    pytest_plugins = ["django_flashcall.testing.pytest_plugin"]

``fake_telefonip``, ``fake_smsru``, ``fake_ucaller`` and ``flashcall_outbox``
use pytest-django's ``settings`` fixture, so they need pytest-django. Django
is imported inside the fixtures only: this module imports before Django is
configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .fake_smsru import FakeSMSRu
from .fake_telefonip import FakeTelefonIP
from .fake_ucaller import FakeUCaller

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
    and a short ``FLASHCALL_TIMEOUT`` of ``(1, 2)`` for this test, and
    ``FLASHCALL_PROVIDERS = None`` (telefon-ip alone; list it with other
    fakes' ``provider_entry()`` to test failover).
    """
    server = fake_telefonip_server
    server.reset()
    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
    settings.FLASHCALL_PROVIDERS = None  # FLASHCALL_PROVIDER alone
    settings.FLASHCALL_API_URL = server.url
    settings.FLASHCALL_API_TOKEN = server.token
    settings.FLASHCALL_TIMEOUT = (1, 2)
    yield server
    server.reset()  # also wakes and drops any "slow" request still sleeping


@pytest.fixture(scope="session")
def fake_smsru_server() -> Iterator[FakeSMSRu]:
    """One fake sms.ru server for the whole session, on a free loopback port."""
    with FakeSMSRu() as server:
        yield server


@pytest.fixture
def fake_smsru(fake_smsru_server: FakeSMSRu, settings: Any) -> Iterator[FakeSMSRu]:
    """The session's fake sms.ru, reset, as the only provider
    (``FLASHCALL_PROVIDERS = [fake.provider_entry()]``, timeout ``(1, 2)``).
    List it with others for failover: ``fake_smsru.provider_entry()``."""
    server = fake_smsru_server
    server.reset()
    settings.FLASHCALL_PROVIDERS = [server.provider_entry()]
    settings.FLASHCALL_TIMEOUT = (1, 2)
    yield server
    server.reset()


@pytest.fixture(scope="session")
def fake_ucaller_server() -> Iterator[FakeUCaller]:
    """One fake uCaller server for the whole session, on a free loopback port."""
    with FakeUCaller() as server:
        yield server


@pytest.fixture
def fake_ucaller(fake_ucaller_server: FakeUCaller, settings: Any) -> Iterator[FakeUCaller]:
    """The session's fake uCaller, reset, as the only provider (see ``fake_smsru``)."""
    server = fake_ucaller_server
    server.reset()
    settings.FLASHCALL_PROVIDERS = [server.provider_entry()]
    settings.FLASHCALL_TIMEOUT = (1, 2)
    yield server
    server.reset()


@pytest.fixture
def flashcall_outbox(settings: Any) -> Iterator[list[SandboxCall]]:
    """``SandboxProvider.outbox``, emptied, with the sandbox as the provider."""
    from django_flashcall.providers import sandbox

    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.SandboxProvider"
    settings.FLASHCALL_PROVIDERS = None
    sandbox.outbox.clear()
    yield sandbox.outbox
    sandbox.outbox.clear()
