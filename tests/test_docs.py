"""The documentation (docs/) is part of the product: its snippets run as written,
and its reference lists every setting, error code and system check.

A code block runs in a test when an RST comment right before it says how:

``.. tested: project <path>``
    appended to ``<path>`` of a fresh ``django-admin startproject mysite``
    (the tutorial: the project then passes its checks and logs a phone in);
``.. tested: module <path>``
    written to ``<path>`` in a folder on ``sys.path``, for the page's settings;
``.. tested: settings``
    executed over a new project's settings, applied with ``override_settings``:
    the app's system checks must pass;
``.. tested: pytest``
    split into files at ``# <name>.py`` lines, run with pytest: all pass;
``.. tested: receivers``
    signal receivers: a test fires them through a real login;
``.. tested: curl <mode>``
    shell commands pasted against the example site (``make demo``) started
    with that login mode; the code is read from its console.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from django_flashcall import conf
from django_flashcall.checks import check_settings
from django_flashcall.exceptions import ERRORS

from .browser_helpers import ExampleServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
KINDS = {"project", "module", "settings", "pytest", "receivers", "curl"}

MARKED = re.compile(
    r"^\.\. tested: (?P<kind>\S+)(?: (?P<arg>\S+))?\n\n"
    r"\.\. code-block:: (?P<lang>\S+)\n\n(?P<body>(?:(?:    .*)?\n)+)",
    re.M,
)
PYTHON_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.M)


@dataclass(frozen=True)
class Snippet:
    page: str
    kind: str
    arg: str | None
    body: str

    def __str__(self) -> str:
        return f"{self.page}:{self.kind}"


def pages() -> dict[str, str]:
    return {
        str(p.relative_to(DOCS)): p.read_text(encoding="utf-8")
        for p in sorted(DOCS.rglob("*.rst"))
        if "_build" not in p.parts
    }


def dedent(block: str) -> str:
    return textwrap.dedent(block).strip("\n") + "\n"


def snippets(kind: str | None = None, page: str | None = None) -> list[Snippet]:
    found = [
        Snippet(name, m["kind"], m["arg"], dedent(m["body"]))
        for name, text in pages().items()
        for m in MARKED.finditer(text)
    ]
    return [s for s in found if (kind is None or s.kind == kind) and (page in (None, s.page))]


def new_project_settings(debug: bool = True) -> dict[str, Any]:
    """What ``startproject``'s settings.py defines that a snippet may extend."""
    return {
        "DEBUG": debug,
        "INSTALLED_APPS": ["django.contrib.admin", "django.contrib.auth"],
        "MIDDLEWARE": [],
    }


def run_settings(body: str, debug: bool = True) -> dict[str, Any]:
    namespace = new_project_settings(debug)
    exec(compile(body, "<docs settings>", "exec"), namespace)  # noqa: S102
    return {k: v for k, v in namespace.items() if k.isupper() and k != "INSTALLED_APPS"}


@pytest.fixture
def page_modules(tmp_path, monkeypatch):
    """Write a page's ``module`` snippets into a folder on sys.path."""

    def install(page: str) -> None:
        for snippet in snippets("module", page):
            target = tmp_path / snippet.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            for folder in target.relative_to(tmp_path).parents:
                (tmp_path / folder / "__init__.py").touch()
            target.write_text(snippet.body)
        monkeypatch.syspath_prepend(str(tmp_path))

    return install


# --------------------------------------------------------------------------- the markers


def test_every_marker_is_known_and_marks_a_block():
    for name, text in pages().items():
        markers = re.findall(r"^\.\. tested: .*$", text, re.M)
        marked = [m for m in MARKED.finditer(text)]
        assert len(markers) == len(marked), f"{name}: a '.. tested:' is not before a code block"
        for m in marked:
            assert m["kind"] in KINDS, f"{name}: unknown kind {m['kind']!r}"
            if m["kind"] in ("project", "module", "curl"):
                assert m["arg"], f"{name}: '.. tested: {m['kind']}' needs a path"


def test_every_python_block_compiles():
    for name, text in pages().items():
        for block in PYTHON_BLOCK.findall(text):
            compile(dedent(block), name, "exec")


# --------------------------------------------------------------------------- the kinds


@pytest.mark.parametrize("snippet", snippets("settings"), ids=str)
def test_settings_snippets_pass_the_checks(snippet, page_modules):
    page_modules(snippet.page)
    with override_settings(**run_settings(snippet.body)):
        assert [m.id for m in check_settings() if m.level >= 40] == []


@pytest.mark.parametrize("snippet", snippets("pytest"), ids=str)
def test_pytest_snippets_pass(snippet, tmp_path):
    files = re.split(r"^# (\S+\.py)\n", snippet.body, flags=re.M)
    assert files[0].strip() == "", "a pytest snippet starts with '# <name>.py'"
    for filename, body in zip(files[1::2], files[2::2], strict=True):
        (tmp_path / filename).write_text(body)
    (tmp_path / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        # SQLite in memory: a PostgreSQL run would share the suite's test database.
        env={
            **{k: v for k, v in os.environ.items() if k != "FLASHCALL_TEST_DB"},
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = len(re.findall(r"^def test_", snippet.body, re.M))
    assert f"{tests} passed" in result.stdout


# --------------------------------------------------------------------------- the pages

TUTORIAL_RUN = """
import re
from django.core.management import call_command
from django.test import Client
from django_flashcall.providers.sandbox import outbox

call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)

# The HTML pages: phone, then the code from the simulated call.
browser = Client(HTTP_HOST="127.0.0.1:8000")  # as runserver
page = browser.post("/accounts/phone/", {"phone": "+7 924 450-10-03"})
assert page.status_code == 302, page.status_code
page = browser.post(page["Location"], {"code": outbox[-1].code})
assert page.status_code == 302 and page["Location"] == "/accounts/phone/", page
landed = browser.get(page["Location"])  # a page, not a fresh project's 404
assert landed.status_code == 200 and b"You are logged in" in landed.content, landed
from django.contrib.auth import get_user_model
user = get_user_model().objects.get()
assert user.username == "79244501003", user.username
assert browser.session["_auth_user_id"] == str(user.pk)

# The JSON API, as the curl lines: the confirm carries the CSRF cookie back.
api = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1:8000")
answer = api.post("/api/flashcall/request/", {"phone": "+7 924 450-10-04"},
                  content_type="application/json")
assert answer.status_code == 201, answer.content
body = {"phone": "+7 924 450-10-04", "code": outbox[-1].code}
refused = api.post("/api/flashcall/confirm/", body, content_type="application/json")
assert refused.json()["code"] == "csrf_failed", refused.content
answer = api.post("/api/flashcall/confirm/", body, content_type="application/json",
                  headers={"X-CSRFToken": api.cookies["csrftoken"].value})
assert answer.status_code == 200 and answer.json()["verified"] is True, answer.content
print("TUTORIAL OK")
"""


def test_tutorial_runs_as_written(tmp_path):
    """startproject, the tutorial's blocks pasted in, then a login by phone."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FLASHCALL_"))},
        "PYTHONPATH": str(ROOT),
    }
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}
    django_admin = [sys.executable, "-m", "django"]
    result = subprocess.run([*django_admin, "startproject", "mysite"], **run)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "mysite"
    blocks = snippets("project", "tutorial.rst")
    assert {b.arg for b in blocks} == {"mysite/settings.py", "mysite/urls.py"}
    for block in blocks:
        with (project / block.arg).open("a") as target:
            target.write("\n" + block.body)
    run["cwd"] = project
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", TUTORIAL_RUN], **run)
    assert "TUTORIAL OK" in result.stdout, result.stdout + result.stderr
    # The sandbox's console line, as the tutorial shows it.
    assert re.search(
        r"Sandbox call to \+7 924 450-10-03 from \+7 \d{3} \d{3}-\d{2}-\d{2} \(code \d{4}\)",
        result.stderr,
    ), result.stderr


def test_tutorial_settings_refuse_production_without_a_token():
    (settings_block,) = [
        s for s in snippets("project", "tutorial.rst") if s.arg == "mysite/settings.py"
    ]
    with override_settings(FLASHCALL_PROVIDER=conf.DEFAULTS["PROVIDER"]):
        values = run_settings(settings_block.body, debug=False)
        values.pop("FLASHCALL_PROVIDER", None)
        with override_settings(**values):
            assert "django_flashcall.E001" in [m.id for m in check_settings()]


@pytest.mark.django_db
def test_jwt_hook_logs_in_with_tokens(page_modules, client, flashcall_outbox):
    from rest_framework_simplejwt.tokens import AccessToken

    page_modules("howto/tokens.rst")
    (settings_block,) = snippets("settings", "howto/tokens.rst")
    with override_settings(**run_settings(settings_block.body)):
        phone = "79244501003"
        client.post("/api/flashcall/request/", {"phone": phone}, content_type="application/json")
        body = {"phone": phone, "code": flashcall_outbox[-1].code}
        answer = client.post("/api/flashcall/confirm/", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert str(AccessToken(data["access"])["user_id"]) == str(data["user_id"])


@pytest.mark.django_db
def test_signal_receivers_fire(client, flashcall_outbox, settings):
    (snippet,) = snippets("receivers", "reference/signals.rst")
    welcomed: list[Any] = []
    logged: list[str] = []

    class SecurityLog:
        def warning(self, message: str, *args: Any) -> None:
            logged.append(message % args)

    namespace = {"send_welcome_email": welcomed.append, "security_log": SecurityLog()}
    exec(compile(snippet.body, "signals.rst", "exec"), namespace)  # noqa: S102
    settings.FLASHCALL_MAX_CHECKS = 1
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    phone = "79244501003"

    held: list[str] = []

    def request_call() -> str:
        body = {"phone": phone}
        answer = client.post("/api/flashcall/request/", body, content_type="application/json")
        held.append(answer.json()["attempt_id"])
        return flashcall_outbox[-1].code

    def confirm(code: str) -> str | None:
        body = {"attempt_id": held[-1], "code": code}
        answer = client.post("/api/flashcall/confirm/", body, content_type="application/json")
        return answer.json().get("code")

    wrong = f"{(int(request_call()) + 1) % 10000:04d}"
    assert [confirm(wrong), confirm(wrong)] == ["invalid_code", "too_many_attempts"]
    assert confirm(request_call()) is None
    assert logged == [f"phone {phone} locked"]
    assert [u.username for u in welcomed] == [phone]


# --------------------------------------------------------------------------- the reference


def anchors(page: str, directive: str) -> list[str]:
    return re.findall(rf"^[ *-]*\.\. {directive}:: (\S+)$", pages()[page], re.M)


def test_every_setting_is_in_the_reference_with_an_anchor():
    documented = anchors("reference/settings.rst", "setting")
    assert sorted(documented) == sorted(f"FLASHCALL_{name}" for name in conf.DEFAULTS), (
        "each setting needs a row in the table and a '.. setting::' section "
        "in docs/reference/settings.rst"
    )
    table = pages()["reference/settings.rst"].split(".. _settings-table:")[1]
    in_table = re.findall(r"^   \* - :setting:`(\S+)`$", table, re.M)
    assert sorted(in_table) == sorted(documented), "the table lists every setting once"


def test_the_table_gives_the_real_default_and_accepted_values():
    table = pages()["reference/settings.rst"]
    row = r"^   \* - :setting:`FLASHCALL_(\S+)`\n     - (.*)\n     - ``(.*)``$"
    rows = re.findall(row, table, re.M)
    assert len(rows) == len(conf.DEFAULTS)
    for name, accepts, default in rows:
        assert eval(default) == conf.DEFAULTS[name], name  # noqa: S307
        if name in conf.RULES:
            assert accepts == conf.RULES[name].expected, name


def test_every_error_code_is_in_the_reference():
    documented = anchors("reference/errors.rst", "errorcode")
    from_the_api = {"csrf_failed", "authentication_failed", "method_not_allowed"}
    assert set(documented) == {e.code for e in ERRORS} | from_the_api, (
        "each error code needs a row with '.. errorcode::' in docs/reference/errors.rst"
    )
    for error in ERRORS:
        row = re.search(rf"``{error.code}``\n     - (\d+)", pages()["reference/errors.rst"])
        assert row and int(row[1]) == error.status, error.code


def test_every_system_check_is_in_the_reference():
    source = "\n".join(
        p.read_text() for p in (ROOT / "django_flashcall").rglob("*.py") if "checks" in p.name
    )
    ids = set(re.findall(r"\"(django_flashcall\.[EW]\d{3})\"", source))
    assert ids and set(anchors("reference/checks.rst", "check")) == ids, (
        "each check id needs a row with '.. check::' in docs/reference/checks.rst"
    )


def test_every_dotted_path_in_the_docs_imports():
    """``django_flashcall.x.y`` in the docs and README names something real."""
    from importlib import import_module

    from django.utils.module_loading import import_string

    source = "\n".join(p.read_text() for p in (ROOT / "django_flashcall").rglob("*.py"))
    loggers = set(re.findall(r"getLogger\(\"([\w.]+)\"\)", source))
    texts = [*pages().values(), (ROOT / "README.rst").read_text(encoding="utf-8")]
    paths = {
        path
        for text in texts
        for path in re.findall(r"(?:``|\")(django_flashcall(?:\.\w+)+)(?:``|\")", text)
        if not re.fullmatch(r"django_flashcall\.[EW]\d{3}", path)
        and path not in loggers
        # The integrations import their packages' models: they are imported
        # under their own settings (tests/contrib/test_docs_integrations.py).
        and not path.startswith("django_flashcall.contrib.")
    }
    assert len(paths) > 8
    for path in sorted(paths):
        try:
            import_module(path)
        except ImportError:
            import_string(path)  # a class, function or attribute of a module


# --------------------------------------------------------------------------- curl, as pasted

DEMO_URL = "http://127.0.0.1:8000"


def paste(block: str, server: ExampleServer, cwd: Path, code: str = "") -> str:
    """Run a shell block as a user pastes it, against ``server``."""
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
    """The code as the docs say to read it: on the server's console."""
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


def curl_blocks(mode: str) -> list[str]:
    blocks = [s.body for s in snippets("curl") if s.arg == mode]
    assert len(blocks) == 2, f"'.. tested: curl {mode}': a request block, then a confirm block"
    return blocks


def test_api_example_in_session_mode_works_as_pasted(curl, tmp_path):
    request, confirm = curl_blocks("session")
    with ExampleServer(tmp_path / "site") as server:
        answer = json.loads(paste(request, server, tmp_path))
        assert answer["phone"] == "79244501003" and answer["channel"] == "call"
        code = console_code(server, "+7 924 450-10-03")
        # Without the header, as the page warns: 403 csrf_failed.
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
    request, confirm = curl_blocks("token")
    with ExampleServer(tmp_path / "site", FLASHCALL_LOGIN="token") as server:
        assert json.loads(paste(request, server, tmp_path))["phone"] == "79244501004"
        code = console_code(server, "+7 924 450-10-04")
        me = json.loads(paste(confirm, server, tmp_path, code))
        assert me["username"] == "79244501004" and me["phone"] == "79244501004"
    assert not (tmp_path / "cookies.txt").exists()  # no cookie jar in token mode


def error_row(code: str) -> str:
    """The "when" cell of ``code`` in the error table."""
    text = pages()["reference/errors.rst"]
    match = re.search(rf"``{code}``\n     - \d{{3}}\n     - (.*(?:\n       \S.*)*)", text)
    assert match, code
    return " ".join(match.group(1).split())


@pytest.mark.django_db
def test_error_table_says_what_the_api_answers_to_a_wrong_type(client):
    """SPEC §4: a field of another JSON type is ``invalid_request``; the table agrees."""
    assert "type" not in error_row("invalid_phone")
    assert '``{"phone": 79244501003}``' in error_row("invalid_request")
    response = client.post(
        "/api/flashcall/request/", {"phone": 79244501003}, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
