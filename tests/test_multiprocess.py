"""The limits hold site-wide when several processes share PostgreSQL and Redis.

Two gunicorn instances (two sync workers each: four processes) on two ports,
no proxy, served from ``tests/mp_urls.py`` with ``tests/mp_settings.py``, on
a database of their own (``flashcall_mp_<pid>``, migrated with ``django-admin
migrate``, dropped at the end) and a Redis database of their own. The fake
telefon-ip server runs in this process. Every check starts from an empty
table, an empty Redis and a reset fake, sends load that alternates between
the two ports, and asserts that what passes is the limit, not the limit ×
processes:

- the IP rate limit (``FLASHCALL_RATELIMIT_REQUEST``);
- the phone daily limit, under concurrency;
- the site budget (``FLASHCALL_DAILY_BUDGET``), under concurrency;
- the circuit breaker: once open, no process calls the provider.

The processes are started once, with all four limits set (:data:`LIMITS`,
chosen so that each check meets only its own limit); requests that must not
meet the IP rate limit come from their own loopback address (127.x.y.z).

Needs ``FLASHCALL_TEST_DB=postgres`` (``PGHOST``/``PGPORT``/``PGUSER``) and
``FLASHCALL_TEST_REDIS_URL``: ``scripts/runtests.py --postgres-only -k multiprocess``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from django_flashcall.testing import FakeTelefonIP

pytestmark = [pytest.mark.multiprocess, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.mp_settings"
TABLE = "django_flashcall_callattempt"
REDIS_DB = 9  # a Redis database no other test uses: flushed before each check
# FLASHCALL_* settings of the processes. A broken limit shows as a different
# count, never hidden by another: the budget (6) is above the IP rate (5) and
# the phone daily limit (3); the 3 failed calls of the breaker check fit in it.
LIMITS = {
    "RATELIMIT_REQUEST": "5/m",
    "PHONE_DAILY_LIMIT": 3,
    "RESEND_COOLDOWN": 0,
    "DAILY_BUDGET": 6,
    "BREAKER_THRESHOLD": 3,
    "BREAKER_COOLDOWN": 300,
}
_addresses = (f"127.{a}.{b}.{c}" for a in range(1, 255) for b in range(256) for c in range(1, 255))
_addresses_lock = threading.Lock()


def new_address() -> str:
    """A loopback address no request has used: a client of its own for the IP limit."""
    with _addresses_lock:
        return next(_addresses)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_options() -> list[str]:
    """gunicorn ≥ 25.1 opens a control socket at one fixed path per user:
    concurrent instances (and test runs) would fight over it."""
    import gunicorn.config

    return ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []


def pg_connect(dbname: str):
    import psycopg

    return psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname=dbname,
        autocommit=True,
    )


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a given local address (the server sees it as REMOTE_ADDR)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Gunicorn:
    """One gunicorn instance: two sync workers, its own port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "2",
            "--worker-class", "sync",
            "--preload",  # import once in the master (tests/mp_urls.py), then fork
            "--chdir", str(ROOT),
            *gunicorn_options(),
            "tests.mp_urls:application",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills it whole
        )

    def wait(self) -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{self.output()}")
            try:
                # A GET on the POST-only endpoint: 405 once Django answers.
                requests.get(self.url + "/api/flashcall/request/", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.05)
        pytest.fail(f"gunicorn did not answer in 40 s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """No graceful shutdown needed (all state is in PostgreSQL and Redis),
        and gunicorn's takes seconds: kill the instance's process group."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.log.close()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelefonIP]:
    # The provider's own cap of 3 calls per phone must not hide ours.
    with FakeTelefonIP(daily_limit=1000) as server:
        yield server


@pytest.fixture(scope="module")
def mp_redis_url(redis_url: str) -> str:
    return urlunsplit(urlsplit(redis_url)._replace(path=f"/{REDIS_DB}"))


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"flashcall_mp_{os.getpid()}"
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with pg_connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(fake: FakeTelefonIP, mp_redis_url: str, database: str) -> Iterator[list[Gunicorn]]:
    """Two gunicorn instances on a migrated database, started once per module."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PYTHONPATH=str(ROOT),
        MP_DATABASE=database,
        MP_REDIS_URL=mp_redis_url,
        MP_API_URL=fake.url,
        MP_API_TOKEN=fake.token,
    )
    env.update({f"MP_FLASHCALL_{k}": json.dumps(v) for k, v in LIMITS.items()})
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", f"--settings={SETTINGS}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    instances = [Gunicorn(env), Gunicorn(env)]
    try:
        for instance in instances:
            instance.start()
        for instance in instances:
            instance.wait()
        yield instances
    finally:
        for instance in instances:
            instance.stop()


@pytest.fixture
def site(servers: list[Gunicorn], fake: FakeTelefonIP, mp_redis_url: str, database: str):
    """The two instances, with an empty table, an empty Redis and a reset fake."""
    import redis

    with pg_connect(database) as conn:
        conn.execute(f"TRUNCATE {TABLE}")
    with redis.Redis.from_url(mp_redis_url) as client:
        client.flushdb()
    fake.reset()
    yield Site(servers, fake, database)
    fake.reset()


class Site:
    def __init__(self, servers: list[Gunicorn], fake: FakeTelefonIP, database: str) -> None:
        self.servers = servers
        self.fake = fake
        self.database = database
        self.sent = 0
        self._lock = threading.Lock()

    def request(self, i: int, phone: str, source: str | None = None) -> requests.Response:
        """POST request/ on instance ``i % 2``, from ``source`` (default: a new address)."""
        with self._lock:
            self.sent += 1
        server = self.servers[i % len(self.servers)]
        with requests.Session() as session:
            session.mount("http://", SourceAddressAdapter(source or new_address()))
            return session.post(
                server.url + "/api/flashcall/request/", json={"phone": phone}, timeout=15
            )

    def burst(
        self, phones: list[str], first: int = 0, source: str | None = None
    ) -> list[requests.Response]:
        """All at once from as many threads, alternating between the instances."""
        start = threading.Barrier(len(phones))

        def one(i: int) -> requests.Response:
            start.wait()
            return self.request(first + i, phones[i], source)

        with ThreadPoolExecutor(len(phones)) as pool:
            return list(pool.map(one, range(len(phones))))

    def rows(self, ip: str | None = None) -> Counter:
        """``(status, reason) → count`` of the attempts in the database (from ``ip``)."""
        where, params = ("WHERE ip = %s", [ip]) if ip else ("", [])
        with pg_connect(self.database) as conn:
            result = conn.execute(
                f"SELECT status, reason, count(*) FROM {TABLE} {where} GROUP BY 1, 2", params
            )
            return Counter({(status, reason): n for status, reason, n in result})

    def placed(self, phone: str | None = None) -> int:
        return sum(1 for c in self.fake.calls if phone is None or c.phone7 == phone)

    def provider_requests(self) -> int:
        return len(self.fake.requests_for("get_code"))


def outcomes(responses: list[requests.Response]) -> Counter:
    return Counter(
        (201, None) if r.status_code == 201 else (r.status_code, r.json().get("code"))
        for r in responses
    )


_phones = itertools.count(1000)


def phones(count: int) -> list[str]:
    """``count`` phones no check has used."""
    return [f"7916{next(_phones):07d}" for _ in range(count)]


# --------------------------------------------------------------------------- checks


def test_ip_rate_limit_holds_across_processes(site):
    from django_ratelimit.core import _get_window

    # django-ratelimit counts in fixed 60 s windows, offset per key by its
    # CRC-32: 20 requests that straddle the end of one start a new count.
    # Take an address whose window has 30 s left (about one in two has), and
    # should a slow machine still straddle, start over from another one.
    for _ in range(3):
        ip = next(a for a in iter(new_address, None) if _get_window(a, 60) - time.time() >= 30)
        window, placed = _get_window(ip, 60), site.placed()
        responses = []
        for first in range(0, 20, 4):
            responses += site.burst(phones(4), first, source=ip)
        if _get_window(ip, 60) == window:
            break
    else:
        pytest.fail("20 requests did not fit in one 60 s rate-limit window, three times")

    assert outcomes(responses) == {(201, None): 5, (429, "rate_limited"): 15}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in responses if r.status_code == 429)
    assert site.placed() - placed == 5
    # The IP limit answers before the service: only the calls left rows.
    assert site.rows(ip) == {("pending", ""): 5}


def test_phone_daily_limit_holds_across_processes(site):
    (phone,) = phones(1)
    responses: list[requests.Response] = []
    # Bursts of 8 concurrent requests for one phone until the daily limit
    # refuses one; the per-phone lock may also refuse some as "busy".
    for _ in range(10):
        responses += site.burst([phone] * 8, len(responses))
        if site.rows()[("refused", "phone_daily_limit")]:
            break
    responses += site.burst([phone] * 8, len(responses))  # and once more

    assert site.placed(phone) == 3
    assert outcomes(responses)[(201, None)] == 3
    assert set(outcomes(responses)) == {(201, None), (429, "rate_limited")}
    rows = site.rows()
    assert sum(n for (status, _), n in rows.items() if status != "refused") == 3
    assert rows[("refused", "phone_daily_limit")] >= 1
    assert sum(rows.values()) == site.sent == len(responses)  # every request has its row


def test_daily_budget_holds_across_processes(site):
    budget = LIMITS["DAILY_BUDGET"]
    responses: list[requests.Response] = []
    # Under concurrency a request may be refused while the budget still has
    # room (never the other way round): go on until it is spent.
    for _ in range(10):
        responses += site.burst(phones(8), len(responses))
        assert site.placed() <= budget
        if site.placed() == budget:
            break
    # Then every process refuses, one request after the other too.
    for phone in phones(4):
        last = site.request(len(responses), phone)
        responses.append(last)
        assert (last.status_code, last.json()["code"]) == (429, "rate_limited"), last.text

    assert site.placed() == budget
    assert outcomes(responses)[(201, None)] == budget
    rows = site.rows()
    assert rows[("pending", "")] == budget
    assert rows[("refused", "daily_budget")] >= 4
    assert sum(rows.values()) == site.sent == len(responses)


def test_circuit_breaker_opens_for_every_process(site):
    site.fake.set_fault("server_error")
    # Three failures, one after the other, alternating between the instances.
    for i, phone in enumerate(phones(LIMITS["BREAKER_THRESHOLD"])):
        response = site.request(i, phone)
        assert (response.status_code, response.json()["code"]) == (503, "provider_unavailable")
    assert site.provider_requests() == 3

    # Open: every process fails fast; the provider hears nothing more.
    responses = site.burst(phones(8), 3) + site.burst(phones(8), 11)
    assert outcomes(responses) == {(503, "provider_unavailable"): 16}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in responses)
    assert site.provider_requests() == 3
    assert site.placed() == 0
    assert site.rows() == {("failed", "server_error"): 3, ("refused", "breaker_open"): 16}
