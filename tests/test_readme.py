"""README.rst is part of the product: it renders, and its snippets work as written.

The documentation's snippets (docs/) are tested by tests/test_docs.py.
"""

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


# --------------------------------------------------------------------------- a fresh startproject

FRESH_PROJECT_RUN = """
from django.core.management import call_command
from django.test import Client
from django_flashcall.providers.sandbox import outbox

call_command("migrate", verbosity=0)
browser = Client(HTTP_HOST="127.0.0.1:8000")
page = browser.post("/accounts/phone/", {"phone": "+7 924 450-10-03"}, follow=True)
page = browser.post(page.redirect_chain[-1][0], {"code": outbox[-1].code}, follow=True)
assert page.status_code == 200, (page.status_code, page.redirect_chain)
assert "You are logged in" in page.content.decode(), page.content
print("LANDED", page.redirect_chain[-1][0])
"""


def test_installation_lands_a_fresh_startproject_login_on_a_page(tmp_path):
    """The install snippets pasted into ``startproject``: the first login must
    land on a page, not on Django's 404 (0.1 sent it to "/", which a new
    project does not have)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FLASHCALL_"))},
        "PYTHONPATH": str(ROOT),
    }
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}
    result = subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], **run)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "mysite"
    for block in code_blocks(section("Installing in your project")):
        target = "settings.py" if "# settings.py" in block else "urls.py"
        with (project / "mysite" / target).open("a") as f:
            f.write("\n" + block)
    run["cwd"] = project
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", FRESH_PROJECT_RUN], **run)
    assert "LANDED /accounts/phone/" in result.stdout, result.stdout + result.stderr


def test_readme_links_into_the_docs_exist():
    """The README is short and points into docs/: every relative link resolves."""
    links = re.findall(r"<([^<>:\s]+)>`_", README)
    assert "docs/reference/settings.rst" in links and "docs/reference/errors.rst" in links
    missing = [link for link in links if not (ROOT / link).is_file()]
    assert missing == []
    assert len(README.splitlines()) <= 200
