"""The example project (example_project/): settings, checks, migrations, and the
whole demo over HTTP without a browser. Everything runs in subprocesses with
the example's own manage.py and settings, as ``make demo`` does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import django
import pytest

from .browser_helpers import EXAMPLE, Browserless, ExampleServer, example_env, manage

DUMP = """
import json
from django.conf import settings
import django
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"],
    "DB": {k: str(db.get(k, "")) for k in ("NAME", "USER", "HOST", "PORT", "PASSWORD")},
    "CACHE": settings.CACHES["default"],
    "PROVIDER": settings.FLASHCALL_PROVIDER,
    "TOKEN": settings.FLASHCALL_API_TOKEN,
    "API_URL": getattr(settings, "FLASHCALL_API_URL", None),
    "APPS": settings.INSTALLED_APPS,
    "MIDDLEWARE": settings.MIDDLEWARE,
}))
"""


def dump(tmp_path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", DUMP],
        cwd=EXAMPLE,
        env=example_env(FLASHCALL_EXAMPLE_SQLITE=str(tmp_path / "db.sqlite3"), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return manage(
        *args, env=example_env(FLASHCALL_EXAMPLE_SQLITE=str(tmp_path / "db.sqlite3"), **env)
    )


# --------------------------------------------------------------------------- settings


def test_default_settings_are_a_sandbox_demo(tmp_path):
    s = dump(tmp_path)
    assert s["DEBUG"] is True
    assert s["SECRET_KEY"]
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["DB"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert s["CACHE"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["PROVIDER"] == "django_flashcall.providers.SandboxProvider"
    assert "django_flashcall" in s["APPS"] and "rest_framework" in s["APPS"]
    assert "django.middleware.locale.LocaleMiddleware" in s["MIDDLEWARE"]


def test_default_sqlite_file_is_next_to_manage_py(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import example.settings as s; print(s.DATABASES['default']['NAME'])",
        ],
        cwd=EXAMPLE,
        env=example_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(EXAMPLE / "db.sqlite3")


def test_secret_key_is_required_without_debug(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import example.settings"],
        cwd=EXAMPLE,
        env=example_env(DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_like_settings_from_the_environment(tmp_path):
    s = dump(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="s3cret-from-env",
        ALLOWED_HOSTS="demo.example.com, www.example.com",
        FLASHCALL_EXAMPLE_DB="postgres",
        PGHOST="db.internal",
        PGPORT="5433",
        PGUSER="flash",
        PGPASSWORD="pw",
        PGDATABASE="flashdb",
        REDIS_URL="redis://cache.internal:6379/1",
        FLASHCALL_PROVIDER="django_flashcall.providers.TelefonIPProvider",
        FLASHCALL_API_TOKEN="tok-123",
        FLASHCALL_API_URL="http://127.0.0.1:9/authcalls/",
    )
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == "s3cret-from-env"
    assert s["ALLOWED_HOSTS"] == ["demo.example.com", "www.example.com"]
    assert s["ENGINE"] == "django.db.backends.postgresql"
    assert s["DB"] == {
        "NAME": "flashdb",
        "USER": "flash",
        "HOST": "db.internal",
        "PORT": "5433",
        "PASSWORD": "pw",
    }
    assert s["CACHE"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/1",
    }
    assert s["PROVIDER"] == "django_flashcall.providers.TelefonIPProvider"
    assert s["TOKEN"] == "tok-123"
    assert s["API_URL"] == "http://127.0.0.1:9/authcalls/"


# --------------------------------------------------------------------------- manage.py


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-from-the-environment-0123456789-abcdefghijklmn",
    "ALLOWED_HOSTS": "demo.example.com",
    "REDIS_URL": "redis://cache.internal:6379/1",
    "FLASHCALL_PROVIDER": "django_flashcall.providers.TelefonIPProvider",
    "FLASHCALL_API_TOKEN": "tok-123",
}


def test_check_deploy_is_clean_for_production_settings(tmp_path):
    """``manage.py check --deploy`` with the settings a production run has:
    no error (drf_spectacular.E001 was one) and no warning."""
    result = run(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_passes(tmp_path):
    result = run(tmp_path, "check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_fails_for_the_real_provider_without_a_token(tmp_path):
    result = run(
        tmp_path, "check", FLASHCALL_PROVIDER="django_flashcall.providers.TelefonIPProvider"
    )
    assert result.returncode != 0
    assert "django_flashcall.E001" in result.stderr


def test_makemigrations_is_clean(tmp_path):
    result = run(tmp_path, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_makefile_demo_uses_the_example_manage_py():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", "demo"], cwd=EXAMPLE.parent, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "cd example_project" in result.stdout
    assert "manage.py migrate --noinput" in result.stdout
    assert "manage.py runserver 127.0.0.1:8000" in result.stdout


# --------------------------------------------------------------------------- the running demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with ExampleServer(tmp_path_factory.mktemp("demo")) as server:
        yield server


def test_demo_pages_answer(demo):
    client = Browserless(demo.url)
    status, _, home = client.request("/")
    assert status == 200
    assert 'href="/accounts/phone/"' in home
    assert "Sandbox mode" in home
    assert client.request("/accounts/phone/")[0] == 200
    status, location, _ = client.request("/profile/")
    assert status == 302 and location.startswith("/accounts/phone/?next=/profile/")
    assert client.request("/admin/login/")[0] == 200
    assert client.request("/favicon.ico")[0] == 200
    # The browsable API: GET is not allowed, but the page shows the POST form.
    status, _, page = client.request("/api/flashcall/request/")
    assert status == 405
    assert "<html" in page and "Request Code" in page
    status, _, body = client.request("/api/flashcall/request/", accept="application/json")
    assert status == 405 and json.loads(body)["code"] == "method_not_allowed"
    try:
        import drf_spectacular  # noqa: F401
    except ImportError:
        pass
    else:
        status, _, schema = client.request(
            "/api/flashcall/schema/", accept="text/html,application/xhtml+xml,*/*;q=0.8"
        )
        assert status == 200
        assert "/api/flashcall/request/" in schema


def test_demo_whole_flow_without_javascript(demo):
    client = Browserless(demo.url)
    _, _, page = client.request("/accounts/phone/?next=/profile/")
    status, location, _ = client.request(
        "/accounts/phone/",
        {
            "csrfmiddlewaretoken": client.csrf(page),
            "phone": "+7 924 123-45-67",
            "next": "/profile/",
        },
    )
    assert status == 302
    assert location == "/accounts/phone/confirm/?next=%2Fprofile%2F"
    _, _, page = client.request(location)
    caller = re.search(r"data-sandbox-caller>([^<]+)<", page).group(1)
    assert re.fullmatch(r"\+7 \d{3} \d{3}-\d{2}-\d{2}", caller)
    assert "is calling you" in page
    code = re.sub(r"\D", "", caller)[-4:]

    wrong = f"{(int(code) + 1) % 10000:04d}"
    status, _, page = client.request(
        "/accounts/phone/confirm/",
        {"csrfmiddlewaretoken": client.csrf(page), "code": wrong, "next": "/profile/"},
    )
    assert status == 200 and "The code is wrong. 2 attempts left." in page

    status, location, _ = client.request(
        "/accounts/phone/confirm/",
        {"csrfmiddlewaretoken": client.csrf(page), "code": code, "next": "/profile/"},
    )
    assert (status, location) == (302, "/profile/")
    status, _, page = client.request("/profile/")
    assert status == 200
    assert "data-profile-phone>+7 924 123-45-67<" in page

    status, location, _ = client.request("/logout/", {"csrfmiddlewaretoken": client.csrf(page)})
    assert (status, location) == (302, "/")
    assert client.request("/profile/")[0] == 302


def test_demo_in_russian(demo):
    client = Browserless(demo.url, language="ru")
    _, _, page = client.request("/")
    assert "Вход по номеру телефона через звонок-сброс" in page
    _, _, page = client.request("/accounts/phone/")
    assert "Вход по номеру телефона" in page
    _, location, _ = client.request(
        "/accounts/phone/", {"csrfmiddlewaretoken": client.csrf(page), "phone": "89241112233"}
    )
    _, _, page = client.request(location)
    assert "Вам звонит" in page and "Введите код" in page
    # The language picker names each language in its own language.
    assert '<option value="en" lang="en">English</option>' in page
    assert '<option value="ru" lang="ru" selected>Русский</option>' in page
    assert "Английский" not in page


def test_every_link_on_the_home_page_works(demo):
    """0.1 linked "The JSON API (browsable)" to a GET of a POST-only endpoint: a red 405."""
    client = Browserless(demo.url)
    _, _, home = client.request("/")
    links = set(re.findall(r'href="(/[^"]*)"', home))
    assert "/accounts/phone/" in links and "/api/flashcall/schema/" in links
    for link in links:
        status, location, _ = client.request(link, accept="text/html,*/*;q=0.8")
        assert status == 200 or (status == 302 and "login" in location), (link, status)
    # The API is shown by example instead, with this server's own address.
    assert f"curl -c cookies.txt -b cookies.txt {demo.url}/api/flashcall/request/" in home
    assert "X-CSRFToken" in home


@pytest.mark.skipif(
    django.VERSION < (5, 1),
    reason="SQLite's IMMEDIATE transactions (OPTIONS transaction_mode) need Django 5.1; "
    "the demo installs the newest Django",
)
def test_parallel_confirms_never_answer_500(demo):
    """SQLite under runserver's threads: a burst of confirms waits for the
    write lock instead of failing with "database is locked" (a 500)."""
    import http.cookiejar
    import threading
    import urllib.error
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post(path: str, body: dict, headers: dict | None = None) -> int:
        request = urllib.request.Request(
            demo.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    phones = ["+79244509901", "+79244509902"]
    assert [post("/api/flashcall/request/", {"phone": p}) for p in phones] == [201, 201]
    token = {"X-CSRFToken": next(c.value for c in jar if c.name == "csrftoken")}
    statuses: list[int] = []
    start = threading.Barrier(8)

    def confirm(i: int) -> None:
        start.wait()
        statuses.append(
            post("/api/flashcall/confirm/", {"phone": phones[i % 2], "code": "0000"}, token)
        )

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Wrong codes (400; 200 if "0000" happens to be right), dead attempts (429): never a 500.
    assert len(statuses) == 8 and set(statuses) <= {200, 400, 429}, statuses
    assert "database is locked" not in demo.read_log()
