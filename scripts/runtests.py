#!/usr/bin/env python3
"""Run the whole django-flashcall test suite (this is what ``make test`` calls).

1. starts a throwaway PostgreSQL cluster (initdb + pg_ctl, in a temp dir, on a
   free loopback port; run as the ``postgres`` user when we are root);
2. starts a throwaway ``redis-server`` on a free loopback port, if installed;
3. runs pytest on SQLite (without the ``browser`` and ``multiprocess`` tests),
   then on PostgreSQL (everything);
3b. the same two runs for ``tests/contrib`` (django-allauth, django-otp,
   django-two-factor-auth) with ``tests.settings_contrib``, whose
   ``INSTALLED_APPS`` hold the optional packages: their own pytest processes,
   so the main suite runs without them. Skipped, with a warning, when the
   packages are not installed (``pip install -e '.[test]'`` installs them);
4. stops the servers and removes the temp dirs, whatever happens.

Usage::

    python scripts/runtests.py [--sqlite-only | --postgres-only] [--no-contrib] [pytest args...]

Any other argument goes to every pytest run (``-x``, ``-k name``, a test path);
a test path picks the runs it belongs to (``tests/contrib/...`` or the rest).
With ``CI=true`` (or ``1``) a server that cannot be started is an error; outside
CI the PostgreSQL run is skipped / the suite runs without Redis, with a warning.

Standard library only: it runs before anything else is known to work. The
servers and process helpers live in ``scripts/servers.py``, which tests and
benchmarks import as ``scripts.servers``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_MARKEXPR = "not browser and not multiprocess and not packaging"
CONTRIB_DIR = "tests/contrib"
CONTRIB_SETTINGS = "tests.settings_contrib"
CONTRIB_PACKAGES = ("allauth", "django_otp", "two_factor")
# pytest exit code 5: no tests were collected.
NO_TESTS = 5

USAGE = __doc__.split("Usage::", 1)[1].split("Standard library", 1)[0]

if str(ROOT) not in sys.path:  # run as a script: scripts/ is on the path, not the root
    sys.path.insert(0, str(ROOT))

from scripts.servers import Postgres, Redis, ServiceError, in_ci, log  # noqa: E402

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


def split_paths(args: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``args`` as (options, main-suite paths, contrib paths): a test path
    belongs to the contrib runs when it lies under tests/contrib."""
    options: list[str] = []
    main: list[str] = []
    contrib: list[str] = []
    for arg in args:
        path = arg.split("::", 1)[0]
        if arg.startswith("-") or not (ROOT / path).exists():
            options.append(arg)
        elif Path(os.path.normpath(path)).parts[:2] == tuple(CONTRIB_DIR.split("/")):
            contrib.append(arg)
        else:
            main.append(arg)
    return options, main, contrib


def contrib_missing() -> list[str]:
    import importlib.util

    return [name for name in CONTRIB_PACKAGES if importlib.util.find_spec(name) is None]


def parse_args(argv: list[str]) -> tuple[dict[str, bool], list[str]]:
    opts = {"sqlite_only": False, "postgres_only": False, "shell": False, "no_contrib": False}
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
        options, main_paths, contrib_paths = split_paths(pytest_args)
        suites: list[tuple[str, list[str]]] = []
        if main_paths or not contrib_paths:
            suites.append(("", [*options, *main_paths]))
        if not opts["no_contrib"] and (contrib_paths or not main_paths):
            missing = contrib_missing()
            if missing and ci:
                log(f"ERROR: {', '.join(missing)} not installed (CI is set, not skipping)")
                return 2
            if missing:
                log(f"WARNING: {', '.join(missing)} not installed: skipping {CONTRIB_DIR}")
            else:
                paths = contrib_paths or [CONTRIB_DIR]
                suites.append(("contrib-", [f"--ds={CONTRIB_SETTINGS}", *options, *paths]))
        for prefix, args in suites:
            if not opts["postgres_only"]:
                sqlite_args = ["-m", SQLITE_MARKEXPR, *args]
                runs.append((prefix + "sqlite", sqlite_args, redis_env, pg_vars))
            if pg_ok:
                runs.append((prefix + "postgres", list(args), {**pg.env(), **redis_env}, ()))

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
                print(f"[runtests] {name:16s} {status} ({secs:.1f}s)", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
