"""Test helpers: fake provider servers and pytest fixtures.

``from django_flashcall.testing import FakeTelefonIP, FakeSMSRu, FakeUCaller,
refused_url``; enable the fixtures with
``pytest_plugins = ["django_flashcall.testing.pytest_plugin"]``.
Nothing here imports Django.
"""

from .fake_smsru import FakeSMSRu
from .fake_telefonip import FAULTS, FakeTelefonIP, IssuedCall, RecordedRequest, refused_url
from .fake_ucaller import FakeUCaller

__all__ = [
    "FAULTS",
    "FakeSMSRu",
    "FakeTelefonIP",
    "FakeUCaller",
    "IssuedCall",
    "RecordedRequest",
    "refused_url",
]
