"""Throwaway PostgreSQL and Redis servers on loopback, and process helpers.

Standard library only: the test runner (``scripts/runtests.py``), the browser
and multi-process tests and the benchmarks import it as ``scripts.servers``
(the repository root on ``sys.path``) before anything else is known to work.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PG_USER = "postgres"
PG_DB = "flashcall"


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
