"""README.rst is part of the product: it renders, and its snippets work as written."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from django_flashcall.checks import check_settings

from .browser_helpers import ExampleServer

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


# --------------------------------------------------------------------------- API by example

DEMO_URL = "http://127.0.0.1:8000"


def shell_blocks(title: str) -> list[str]:
    """The ``.. code-block:: bash`` bodies of the subsection ``title`` of "API by example"."""
    text = section("API by example")
    match = re.search(rf"^{re.escape(title)}\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", text, re.M | re.S)
    assert match, title
    blocks = re.findall(r"^\.\. code-block:: bash\n\n((?:    .*\n|\n)+)", match.group(1), re.M)
    return ["\n".join(line[4:] for line in block.splitlines()).strip() + "\n" for block in blocks]


def paste(block: str, server: ExampleServer, cwd: Path, code: str = "") -> str:
    """Run a README shell block as a user pastes it, against ``server``."""
    script = block.replace(DEMO_URL, server.url)
    if code:
        assert '"code": "4677"' in script
        script = script.replace('"code": "4677"', f'"code": "{code}"')
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def console_code(server: ExampleServer, phone: str) -> str:
    """The code as the README says to read it: on the server's console."""
    lines = re.findall(
        rf"Sandbox call to {re.escape(phone)} from \+7 \d{{3}} \d{{3}}-\d{{2}}-\d{{2}} "
        r"\(code (\d{4})\)",
        server.read_log(),
    )
    assert lines, server.read_log()
    return lines[-1]


@pytest.fixture
def curl():
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")


def test_api_example_in_session_mode_works_as_pasted(curl, tmp_path):
    request, confirm = shell_blocks("Session mode (browsers, the default)")
    with ExampleServer(tmp_path / "site") as server:
        answer = json.loads(paste(request, server, tmp_path))
        assert answer["phone"] == "79244501003" and answer["channel"] == "call"
        code = console_code(server, "+7 924 450-10-03")
        # Without the header, as the README warns: 403 csrf_failed.
        no_header = "\n".join(line for line in confirm.splitlines() if "X-CSRFToken" not in line)
        assert '"code":"csrf_failed"' in paste(no_header, server, tmp_path, code)
        out = paste(confirm, server, tmp_path, code)  # two JSON bodies, no newline between
        verified, end = json.JSONDecoder().raw_decode(out)
        me = json.loads(out[end:])
        assert verified["verified"] is True and verified["phone"] == "79244501003"
        assert me == {
            "user_id": verified["user_id"],
            "username": "79244501003",
            "phone": "79244501003",
        }


def test_api_example_in_token_mode_works_as_pasted(curl, tmp_path):
    request, confirm = shell_blocks("Token mode (native apps)")
    with ExampleServer(tmp_path / "site", FLASHCALL_LOGIN="token") as server:
        assert json.loads(paste(request, server, tmp_path))["phone"] == "79244501004"
        code = console_code(server, "+7 924 450-10-04")
        me = json.loads(paste(confirm, server, tmp_path, code))
        assert me["username"] == "79244501004" and me["phone"] == "79244501004"
    assert not (tmp_path / "cookies.txt").exists()  # no cookie jar in token mode


def _error_row(code: str) -> str:
    table = section("JSON API")
    match = re.search(rf"^``{code}``\s+\d{{3}}\s+(.*(?:\n {{33}}\S.*)*)", table, re.M)
    assert match, code
    return " ".join(match.group(1).split())


@pytest.mark.django_db
def test_error_table_says_what_the_api_answers_to_a_wrong_type(client):
    """SPEC §4: a field of another JSON type is ``invalid_request``; the table agrees."""
    assert "type" not in _error_row("invalid_phone")
    assert '``{"phone": 79244501003}``' in _error_row("invalid_request")
    response = client.post(
        "/api/flashcall/request/", {"phone": 79244501003}, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
