"""Run the example project (example_project/) as a real server for tests.

Not a conftest: imported by tests/test_browser.py and
tests/test_example_project.py. The server is ``manage.py runserver
--noreload`` in a subprocess, on a free loopback port, with its own
temporary SQLite database (migrated first), DEBUG on (so runserver serves
the static files) and the SandboxProvider, whatever the environment of the
test run says (the PostgreSQL run exports PG* variables; they must not leak
into the demo).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
MANAGE = EXAMPLE / "manage.py"


from scripts.servers import free_port, stop_process  # noqa: E402  (re-exported)

# Variables of the test run that would change what the example runs on.
_DROP = (
    "DJANGO_SETTINGS_MODULE",
    "FLASHCALL_EXAMPLE_DB",
    "REDIS_URL",
    "FLASHCALL_PROVIDER",
    "FLASHCALL_API_TOKEN",
    "FLASHCALL_API_URL",
    "FLASHCALL_SMS_FALLBACK",
    "FLASHCALL_LOGIN",
    "FLASHCALL_RATELIMIT_REQUEST",
    "FLASHCALL_RESEND_COOLDOWN",
    "FLASHCALL_CHALLENGE",
    "FLASHCALL_DAILY_BUDGET",
    "FLASHCALL_RANGE_RISK",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
)


def example_env(**extra: str) -> dict[str, str]:
    """The environment for an example-project subprocess: the defaults + ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env["DJANGO_SETTINGS_MODULE"] = "example.settings"
    env["PYTHONUNBUFFERED"] = "1"
    # The app from this checkout, installed or not (manage.py does the same).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``python manage.py <args>`` of the example, from its directory."""
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        cwd=EXAMPLE,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class ExampleServer:
    """``with ExampleServer(tmp_path) as server: server.url``."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = Path(workdir)
        self.db = self.workdir / "example.sqlite3"
        self.log = self.workdir / "server.log"
        self.env = example_env(FLASHCALL_EXAMPLE_SQLITE=str(self.db), DEBUG="1", **env)
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return manage(*args, env=self.env)

    def create_superuser(self, username: str, password: str) -> None:
        result = manage(
            "createsuperuser", "--noinput", "--username", username,
            "--email", f"{username}@example.com",
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": password},
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"createsuperuser failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> ExampleServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        result = self.manage("migrate", "--noinput")
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")
        for _ in range(3):  # the free port may be taken before runserver binds it
            port = free_port()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
                    cwd=EXAMPLE,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_until_up(timeout=30):
                return self
            self.stop()
        raise RuntimeError(f"the example server did not start:\n{self.read_log()}")

    def _wait_until_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return False

    def read_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-5000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc)

    def __enter__(self) -> ExampleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Browserless:
    """A cookie-keeping HTTP client for the example server (no JavaScript)."""

    def __init__(self, base_url: str, language: str = "en") -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.language = language

    def request(
        self, path: str, data: dict[str, str] | None = None, accept: str = "text/html"
    ) -> tuple[int, str, str]:
        """``(status, Location or "", body)``; redirects are not followed."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body)
        req.add_header("Accept-Language", self.language)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Referer", self.base_url + path)  # CSRF on https only, harmless
        try:
            with self.opener.open(req, timeout=10) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def csrf(self, html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match, "no CSRF token in the page"
        return match.group(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
