"""README.rst is part of the product: it renders, and its snippets work as written."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from django_flashcall.checks import check_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.rst").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the README section ``title``, up to the next section."""
    match = re.search(rf"^{re.escape(title)}\n=+\n(.*?)(?=^\S[^\n]*\n=+\n|\Z)", README, re.M | re.S)
    assert match, title
    return match.group(1)


def code_blocks(text: str) -> list[str]:
    """The ``.. code-block:: python`` bodies in ``text``, dedented."""
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.M)
    return ["\n".join(line[4:] for line in block.splitlines()) + "\n" for block in blocks]


def test_readme_renders_without_warnings():
    docutils_core = pytest.importorskip("docutils.core")
    warnings = io.StringIO()
    docutils_core.publish_doctree(
        README, settings_overrides={"warning_stream": warnings, "report_level": 2}
    )
    assert warnings.getvalue() == ""


def installed_settings(debug: bool, environ: dict[str, str]) -> dict[str, object]:
    """Run the installation section's settings.py snippet over a startproject's."""
    blocks = code_blocks(section("Installing in your project"))
    settings_block = next(b for b in blocks if "# settings.py" in b)
    namespace: dict[str, object] = {"DEBUG": debug, "INSTALLED_APPS": ["django.contrib.auth"]}
    saved = dict(os.environ)
    try:
        os.environ.update(environ)
        exec(compile(settings_block, "README.rst", "exec"), namespace)  # noqa: S102
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {k: v for k, v in namespace.items() if k.isupper()}


@pytest.mark.parametrize(
    ("debug", "environ", "provider"),
    [
        (True, {}, "django_flashcall.providers.SandboxProvider"),
        (False, {"FLASHCALL_API_TOKEN": "from-the-environment"}, None),
    ],
)
def test_installation_settings_pass_the_checks(debug, environ, provider, settings):
    values = installed_settings(debug, environ)
    assert "django_flashcall" in values["INSTALLED_APPS"]
    assert values.get("FLASHCALL_PROVIDER") == provider
    del settings.FLASHCALL_PROVIDER, settings.FLASHCALL_API_TOKEN  # as in a fresh project
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    with override_settings(**{k: v for k, v in values.items() if k != "INSTALLED_APPS"}):
        assert [m.id for m in check_settings()] == []


def test_installation_settings_without_a_token_fail_the_checks(settings):
    values = installed_settings(False, {})
    del settings.FLASHCALL_PROVIDER
    with override_settings(**{k: v for k, v in values.items() if k != "INSTALLED_APPS"}):
        assert "django_flashcall.E001" in [m.id for m in check_settings()]


def test_testing_your_site_example_runs(tmp_path):
    """The "Testing your site" snippet, pasted into a project's test folder, passes."""
    (block,) = code_blocks(section("Testing your site"))
    conftest, tests = block.split("# test_login.py\n")
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_login.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        # On SQLite in memory: a PostgreSQL run would create and drop the same
        # test database as the suite that runs this test.
        env={
            **{k: v for k, v in os.environ.items() if k != "FLASHCALL_TEST_DB"},
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
