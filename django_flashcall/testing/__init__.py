"""Test helpers: a fake telefon-ip server and pytest fixtures.

``from django_flashcall.testing import FakeTelefonIP, refused_url``; enable
the fixtures with ``pytest_plugins = ["django_flashcall.testing.pytest_plugin"]``.
Nothing here imports Django.
"""

from .fake_telefonip import FAULTS, FakeTelefonIP, IssuedCall, RecordedRequest, refused_url

__all__ = ["FAULTS", "FakeTelefonIP", "IssuedCall", "RecordedRequest", "refused_url"]
