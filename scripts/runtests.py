#!/usr/bin/env python3
"""Run the whole django-flashcall test suite (this is what ``make test`` calls).

1. starts a throwaway PostgreSQL cluster (initdb + pg_ctl, in a temp dir, on a
   free loopback port; run as the ``postgres`` user when we are root);
2. starts a throwaway ``redis-server`` on a free loopback port, if installed;
3. runs pytest on SQLite (without the ``browser`` and ``multiprocess`` tests),
   then on PostgreSQL (everything);
4. stops the servers and removes the temp dirs, whatever happens.

Usage::

    python scripts/runtests.py [--sqlite-only | --postgres-only] [pytest args...]

Any other argument goes to both pytest runs (``-x``, ``-k name``, a test path).
With ``CI=true`` (or ``1``) a server that cannot be started is an error; outside
CI the PostgreSQL run is skipped / the suite runs without Redis, with a warning.

Standard library only: it runs before anything else is known to work, and
``tests/browser_helpers.py`` and ``benchmarks/run.py`` load it by path for
``free_port``, ``stop_process`` and the server classes.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_USER = "postgres"
PG_DB = "flashcall"
SQLITE_MARKEXPR = "not browser and not multiprocess"
# pytest exit code 5: no tests were collected.
NO_TESTS = 5

USAGE = __doc__.split("Usage::", 1)[1].split("Standard library", 1)[0]


class ServiceError(Exception):
    """A test server could not be started."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def log(msg: str) -> None:
    print(f"[runtests] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before we bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen | None, timeout: float = 10, group: bool = False) -> None:
    """Stop ``proc`` and reap it: SIGTERM, up to ``timeout`` seconds to exit, then SIGKILL.

    With ``group=True`` the SIGKILL goes to the process group (for a child started with
    ``start_new_session=True`` whose own children must not outlive it, e.g. gunicorn's
    workers). Nothing to do for ``None`` or a process that has exited. Also used by
    ``tests/browser_helpers.py`` and ``benchmarks/run.py``.
    """
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        if group:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            proc.kill()
        proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- PostgreSQL


def find_pg_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(os.path.realpath(initdb)).parent
        if (bindir / "pg_ctl").exists():
            return bindir

    def version(p: str) -> float:
        try:
            return float(Path(p).parent.parent.name)
        except ValueError:
            return 0.0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    for c in candidates:
        bindir = Path(c).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


class Postgres:
    def __init__(self, base: Path):
        self.base = base / "pg"
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.logfile = self.base / "server.log"
        self.port: int | None = None
        self.bindir: Path | None = None
        self.started = False
        self.as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", PG_USER, "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ, LC_ALL="C", LANG="C")
        env.pop("PGDATA", None)
        return subprocess.run(
            self._cmd(*args),
            cwd=self.base,  # the postgres user may not be able to read our cwd
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )

    def start(self) -> None:
        self.bindir = find_pg_bindir()
        if self.bindir is None:
            raise ServiceError(
                "PostgreSQL binaries not found (no initdb on PATH or in "
                "/usr/lib/postgresql/*/bin); install them with: apt-get install postgresql"
            )
        self.base.mkdir()
        self.sock.mkdir()
        if self.as_root:
            import pwd

            try:
                pw = pwd.getpwnam(PG_USER)
            except KeyError:
                raise ServiceError(
                    f"running as root, but there is no '{PG_USER}' system user to run "
                    "PostgreSQL as (initdb refuses root)"
                ) from None
            for p in (self.base, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)

        initdb = str(self.bindir / "initdb")
        pg_ctl = str(self.bindir / "pg_ctl")
        r = self._run(
            initdb, "-D", str(self.data), "-A", "trust", "-U", PG_USER,
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if r.returncode != 0:
            raise ServiceError(f"initdb failed (exit {r.returncode}):\n{r.stdout}")

        # The free port may be taken between probing and binding: retry a few times.
        for attempt in range(3):
            port = free_port()
            opts = (
                f"-k {self.sock} -p {port} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=100"
            )
            r = self._run(
                pg_ctl, "-D", str(self.data), "-l", str(self.logfile),
                "-o", opts, "-w", "-t", "60", "start",
            )  # fmt: skip
            if r.returncode == 0:
                self.port = port
                self.started = True
                break
            if attempt == 2 or "already in use" not in tail(self.logfile, 10):
                raise ServiceError(
                    f"pg_ctl start failed (exit {r.returncode}):\n{r.stdout}\n"
                    f"--- {self.logfile} ---\n{tail(self.logfile)}"
                )

        r = self._run(
            str(self.bindir / "createdb"),
            "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, PG_DB,
        )  # fmt: skip
        if r.returncode != 0:
            raise ServiceError(f"createdb {PG_DB} failed (exit {r.returncode}):\n{r.stdout}")

    def env(self) -> dict[str, str]:
        return {
            "FLASHCALL_TEST_DB": "postgres",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": PG_USER,
            "PGDATABASE": PG_DB,
        }

    def stop(self) -> None:
        # Also when start() was interrupted half-way: the pid file tells.
        if self.bindir is None or not (self.started or (self.data / "postmaster.pid").exists()):
            return
        self.started = False
        try:
            r = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                "-t", "30", "stop", timeout=60,
            )  # fmt: skip
            if r.returncode == 0:
                return
            log(f"pg_ctl stop failed (exit {r.returncode}): {r.stdout.strip()}")
        except (OSError, subprocess.SubprocessError) as e:
            log(f"pg_ctl stop failed: {e}")
        # Last resort: kill the postmaster by its pid file.
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


# --------------------------------------------------------------------------- Redis


class Redis:
    def __init__(self, base: Path):
        self.base = base / "redis"
        self.logfile = self.base / "server.log"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server") or (
            "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
        )

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        binary = self.binary()
        if binary is None:
            raise ServiceError(
                "redis-server not found; install it with: apt-get install redis-server"
            )
        self.base.mkdir()
        for attempt in range(3):
            self.port = free_port()
            with open(self.logfile, "ab") as logf:
                self.proc = subprocess.Popen(
                    [
                        binary, "--port", str(self.port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", str(self.base),
                        "--daemonize", "no",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    cwd=self.base,
                    start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves
                )  # fmt: skip
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self._ping():
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            self.stop()
            if attempt == 2 or "in use" not in tail(self.logfile, 10):
                raise ServiceError(f"redis-server did not start:\n{tail(self.logfile)}")

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc)


# --------------------------------------------------------------------------- pytest


def run_pytest(args: list[str], extra_env: dict[str, str], drop_env: tuple[str, ...]) -> int:
    env = dict(os.environ)
    for k in drop_env:
        env.pop(k, None)
    env.update(extra_env)
    cmd = [sys.executable, "-m", "pytest", *args]
    log("$ " + shlex.join([f"{k}={v}" for k, v in extra_env.items()] + cmd))
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        return proc.wait()
    except BaseException:
        # Ctrl-C also reached pytest (same process group): let it finish its report.
        try:
            proc.wait(15)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        raise


def parse_args(argv: list[str]) -> tuple[dict[str, bool], list[str]]:
    opts = {"sqlite_only": False, "postgres_only": False, "shell": False}
    rest: list[str] = []
    for a in argv:
        if a in ("-h", "--help") and not rest:
            print(USAGE.strip("\n"))
            sys.exit(0)
        key = a[2:].replace("-", "_") if a.startswith("--") else None
        if key in opts:
            opts[key] = True
        else:
            rest.append(a)
    if opts["sqlite_only"] and opts["postgres_only"]:
        sys.exit("runtests: --sqlite-only and --postgres-only exclude each other")
    return opts, rest


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    opts, pytest_args = parse_args(argv)
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _sigterm)
    ci = in_ci()
    want_pg = not opts["sqlite_only"]

    base_parent = "/tmp" if os.path.isdir("/tmp") else None
    base = Path(tempfile.mkdtemp(prefix="flashcall-tests-", dir=base_parent))
    os.chmod(base, 0o711)  # the postgres user must reach base/pg
    pg = Postgres(base)
    redis = Redis(base)
    results: list[tuple[str, str, float]] = []
    try:
        # ---- services
        pg_ok = False
        if want_pg:
            t0 = time.monotonic()
            try:
                pg.start()
                pg_ok = True
                log(f"PostgreSQL ({pg.bindir}) on 127.0.0.1:{pg.port}, "
                    f"started in {time.monotonic() - t0:.1f}s")  # fmt: skip
            except (ServiceError, OSError, subprocess.SubprocessError) as e:
                if ci:
                    log(f"ERROR: cannot start PostgreSQL (CI is set, not skipping): {e}")
                    return 2
                log(f"WARNING: cannot start PostgreSQL, skipping the PostgreSQL run: {e}")

        redis_env: dict[str, str] = {}
        t0 = time.monotonic()
        try:
            redis.start()
            redis_env = {"FLASHCALL_TEST_REDIS_URL": redis.url()}
            log(f"Redis on {redis.url()}, started in {time.monotonic() - t0:.1f}s")
        except (ServiceError, OSError) as e:
            if ci:
                log(f"ERROR: cannot start Redis (CI is set, not skipping): {e}")
                return 2
            log(f"WARNING: cannot start Redis, Redis tests will be skipped: {e}")

        if opts["shell"]:
            env = {**(pg.env() if pg_ok else {}), **redis_env}
            for k, v in env.items():
                print(f"export {k}={v}", flush=True)
            log("services are up; press Ctrl-C to stop them")
            while True:
                time.sleep(3600)

        # ---- test runs
        runs: list[tuple[str, list[str], dict[str, str], tuple[str, ...]]] = []
        pg_vars = ("FLASHCALL_TEST_DB", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE")
        if not opts["postgres_only"]:
            runs.append(("sqlite", ["-m", SQLITE_MARKEXPR, *pytest_args], redis_env, pg_vars))
        if pg_ok:
            runs.append(("postgres", list(pytest_args), {**pg.env(), **redis_env}, ()))

        codes = []
        for name, args, extra_env, drop in runs:
            log(f"===== {name} run =====")
            t0 = time.monotonic()
            code = run_pytest(args, extra_env, drop)
            codes.append(code)
            if code == 0:
                status = "passed"
            elif code == NO_TESTS:
                status = "no tests collected (exit 5)"
            else:
                status = f"FAILED (pytest exit {code})"
            results.append((name, status, time.monotonic() - t0))

        if want_pg and not pg_ok:
            results.append(("postgres", "SKIPPED (no PostgreSQL)", 0.0))

        # Exit 5 ("no tests collected") is fine for one run when the caller selected
        # tests (e.g. -k on a browser test: the SQLite run selects nothing), not otherwise.
        def bad(code: int) -> bool:
            return code != 0 and not (code == NO_TESTS and pytest_args)

        if not codes:
            return 1  # nothing ran (--postgres-only without PostgreSQL)
        if any(bad(c) for c in codes):
            return next(c for c in codes if bad(c))
        if all(c == NO_TESTS for c in codes):
            return NO_TESTS
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
        if results:
            print(flush=True)
            for name, status, secs in results:
                print(f"[runtests] {name:8s} {status} ({secs:.1f}s)", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
