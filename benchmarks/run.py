#!/usr/bin/env python3
"""Load benchmark of the django-flashcall JSON API against a floor.

    python benchmarks/run.py [-n 2000] [-c 8] [--workers 2] [--threads 4]

Starts, on loopback and in a temp dir, a throwaway PostgreSQL and Redis (the
classes of ``scripts/servers.py``: initdb as the ``postgres`` user when
root, free ports) and the fake telefon-ip server (in this process); then, for
each scenario, serves ``benchmarks.settings`` with gunicorn, drives N full
flows (request → code read from the fake → confirm) with distinct phones from
C client threads, checks that every request left its row, and stops gunicorn.
Everything is stopped at the end, whatever happens.

Scenarios (``--scenarios``, comma-separated, run in this order, ``--repeat``
times interleaved):

- ``floor``: ``benchmarks/floor.py``, the least a flash-call login must do;
- ``app``: ``api/flashcall/request/`` + ``confirm/``, ``FLASHCALL_LOGIN="none"``;
- ``app-fresh``: the same with a new provider session per call (no reuse);
- ``app-token``: ``FLASHCALL_LOGIN="token"``: creates a user and a DRF token;
- ``app-alt``: ``app`` served from ``--alt-tree DIR``, another checkout (a
  patch to measure against the current code in the same run).

Not run by CI. ``--markdown FILE`` also writes the report as Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django_flashcall.testing import FakeTelefonIP  # noqa: E402

SCENARIOS = {
    "floor": {"prefix": "/floor/", "env": {}},
    "app": {"prefix": "/api/flashcall/", "env": {"BENCH_LOGIN": "none"}},
    "app-fresh": {
        "prefix": "/api/flashcall/",
        "env": {"BENCH_LOGIN": "none", "BENCH_FRESH_SESSION": "1"},
    },
    "app-token": {"prefix": "/api/flashcall/", "env": {"BENCH_LOGIN": "token"}},
    # "app" with FLASHCALL_DAILY_BUDGET set (above what a run places).
    "app-budget": {
        "prefix": "/api/flashcall/",
        "env": {"BENCH_LOGIN": "none", "BENCH_BUDGET": "1000000000"},
    },
    # "app" served from --alt-tree: another checkout, e.g. with a patch to measure.
    "app-alt": {"prefix": "/api/flashcall/", "env": {"BENCH_LOGIN": "none"}, "alt": True},
}
ENDPOINTS = ("request", "confirm")
EXPECTED = {"request": 201, "confirm": 200}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


if str(ROOT) not in sys.path:  # run as a script: benchmarks/ is on the path, not the root
    sys.path.insert(0, str(ROOT))

from scripts import servers  # noqa: E402  Postgres, Redis, free_port, stop_process

# --------------------------------------------------------------------------- CPU accounting


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid → (ppid, user+system seconds of itself and its reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
        ppid = int(fields[1])
        cpu = sum(int(x) for x in fields[11:15]) / tick
        out[int(entry)] = (ppid, cpu)
    return out


def tree_cpu(roots: dict[str, int | None]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree (live + reaped)."""
    stats = _proc_stats()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in stats.items():
        children[ppid].append(pid)
    result = {}
    for name, root in roots.items():
        total, todo = 0.0, [root] if root in stats else []
        while todo:
            pid = todo.pop()
            total += stats[pid][1]
            todo.extend(children.get(pid, ()))
        result[name] = total
    return result


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------- gunicorn


def gunicorn_options() -> list[str]:
    """gunicorn ≥ 25.1 opens a control socket at one fixed path per user:
    concurrent instances would fight over it."""
    import gunicorn.config

    return ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []


class Gunicorn:
    def __init__(
        self, args: argparse.Namespace, env: dict[str, str], logfile: Path, tree: Path = ROOT
    ) -> None:
        self.port = servers.free_port()
        self.logfile = logfile
        self.cmd = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(args.workers),
            "--worker-class", args.worker_class,
            "--threads", str(args.threads),
            "--backlog", "2048",
            "--keep-alive", "5",
            "--graceful-timeout", "10",
            "--chdir", str(tree),  # first on sys.path: the django_flashcall served
            "--error-logfile", str(logfile),
            "--log-level", "warning",
            *gunicorn_options(),
            "django.core.wsgi:get_wsgi_application()",
        ]  # fmt: skip
        self.env = env
        self.tree = tree
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.logfile, "ab") as logf:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                cwd=self.tree,  # `python -m` puts the working directory first on sys.path
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.logfile.read_text()[-3000:]}")
            try:
                # GET on a POST-only view: 405 once a worker serves Django.
                if requests.get(self.base_url + "/floor/confirm/", timeout=2).status_code == 405:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer:\n{self.logfile.read_text()[-3000:]}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        # SIGTERM: a graceful stop (--graceful-timeout 10); after 20 s, SIGKILL to the
        # process group, workers included.
        servers.stop_process(proc, timeout=20, group=True)


# --------------------------------------------------------------------------- load


class CodeBook:
    """The code of each phone's newest call, read from the in-process fake."""

    def __init__(self, fake: FakeTelefonIP) -> None:
        self.fake = fake
        self.codes: dict[str, str] = {}
        self.seen = 0
        self.lock = threading.Lock()

    def code(self, phone: str) -> str | None:
        with self.lock:
            calls = self.fake.calls  # append-only until reset()
            for call in calls[self.seen :]:
                self.codes[call.phone7] = call.code
            self.seen = len(calls)
            return self.codes.get(phone)


@dataclass
class Sample:
    endpoint: str
    seconds: float
    status: int  # 0: no HTTP answer
    queries: int | None
    cache_ops: int | None
    error: str = ""


@dataclass
class Result:
    scenario: str
    flows: int
    ok_flows: int
    wall: float
    samples: list[Sample]
    cpu: dict[str, float]
    provider_calls: int
    provider_connections: int
    rows: int
    rows_verified: int
    requests_sent: int
    trace: dict[str, str] = field(default_factory=dict)
    profile: str = ""

    @property
    def flows_per_s(self) -> float:
        return self.ok_flows / self.wall if self.wall else 0.0

    @property
    def requests_per_s(self) -> float:
        return len(self.samples) / self.wall if self.wall else 0.0

    def errors(self) -> Counter:
        return Counter(
            f"{s.endpoint} {s.status or s.error}"
            for s in self.samples
            if s.status != EXPECTED[s.endpoint]
        )


def run_flows(
    base_url: str,
    prefix: str,
    codes: CodeBook,
    phones: list[str],
    concurrency: int,
    keepalive: bool,
) -> tuple[list[Sample], int, float]:
    """Drive one flow per phone from ``concurrency`` threads; (samples, ok flows, wall s)."""
    samples: list[Sample] = []
    ok = [0]
    lock = threading.Lock()
    queue = iter(phones)
    headers = {} if keepalive else {"Connection": "close"}

    def post(session: requests.Session, endpoint: str, body: dict) -> tuple[Sample, Any]:
        start = time.perf_counter()
        try:
            response = session.post(
                f"{base_url}{prefix}{endpoint}/", json=body, headers=headers, timeout=30
            )
        except requests.RequestException as exc:
            elapsed, name = time.perf_counter() - start, type(exc).__name__
            return Sample(endpoint, elapsed, 0, None, None, name), None
        elapsed = time.perf_counter() - start
        q, c = response.headers.get("X-Queries"), response.headers.get("X-Cache-Ops")
        sample = Sample(
            endpoint, elapsed, response.status_code,
            int(q) if q is not None else None, int(c) if c is not None else None,
        )  # fmt: skip
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != EXPECTED[endpoint]:
            sample.error = str(data.get("code") if isinstance(data, dict) else response.text[:80])
        return sample, data

    def worker() -> None:
        session = requests.Session()
        local: list[Sample] = []
        done = 0
        while True:
            with lock:
                phone = next(queue, None)
            if phone is None:
                break
            sample, data = post(session, "request", {"phone": phone})
            local.append(sample)
            if sample.status != 201:
                continue
            code = codes.code(phone)
            sample, data = post(session, "confirm", {"phone": phone, "code": code or "0000"})
            local.append(sample)
            if sample.status == 200 and isinstance(data, dict) and data.get("verified") is True:
                done += 1
        session.close()
        with lock:
            samples.extend(local)
            ok[0] += done

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, ok[0], time.perf_counter() - start


def trace(base_url: str, prefix: str, codes: CodeBook, phone: str) -> dict[str, str]:
    """One traced flow: the SQL statements and Redis commands of each endpoint."""
    out = {}
    with requests.Session() as session:
        headers = {"X-Bench-Trace": "1"}
        r = session.post(f"{base_url}{prefix}request/", json={"phone": phone}, headers=headers)
        out["request"] = r.headers.get("X-Queries-Trace", "")
        body = {"phone": phone, "code": codes.code(phone) or "0000"}
        r = session.post(f"{base_url}{prefix}confirm/", json=body, headers=headers)
        out["confirm"] = r.headers.get("X-Queries-Trace", "")
    return out


# --------------------------------------------------------------------------- database


def reset_database() -> None:
    from django.core.cache import cache
    from django.db import connection

    from benchmarks import floor

    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {floor.TABLE}, django_flashcall_callattempt, django_flashcall_phonenumber, "
            "authtoken_token, auth_user CASCADE"
        )
    cache.clear()


def count_rows(scenario: str) -> tuple[int, int]:
    """(rows, verified rows) of the table the scenario writes to."""
    from django.db import connection

    from benchmarks import floor

    table = floor.TABLE if scenario == "floor" else "django_flashcall_callattempt"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE status = 'verified') FROM {table}")
        rows, verified = cursor.fetchone()
    connection.close()
    return rows, verified


# --------------------------------------------------------------------------- one scenario


def run_scenario(
    name: str,
    index: int,
    args: argparse.Namespace,
    fake: FakeTelefonIP,
    base_env: dict[str, str],
    roots: dict[str, int | None],
    tmp: Path,
) -> Result:
    spec = SCENARIOS[name]
    reset_database()
    fake.reset()  # back to the constructor's limits: no provider-side cap
    if args.provider_latency:
        fake.slow_seconds = args.provider_latency
        fake.set_fault("slow")  # every get_code answers after the pause
    env = {**base_env, **spec["env"]}
    tree = ROOT
    if spec.get("alt"):
        tree = args.alt_tree
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env["PYTHONPATH"]])
    profile_dir = None
    if args.profile:
        profile_dir = tmp / f"profile-{index}-{name}"
        profile_dir.mkdir()
        env["BENCH_PROFILE_DIR"] = str(profile_dir)
    server = Gunicorn(args, env, tmp / f"gunicorn-{index}-{name}.log", tree)
    server.start()
    try:
        codes = CodeBook(fake)
        # Distinct phones for every flow of the scenario (79 + 9 digits); the
        # tables are emptied between scenarios, but a new range costs nothing.
        first = 10_000_000 * (1 + index % 90)
        warm = [f"79{first + i:09d}" for i in range(args.warmup)]
        measured = [f"79{first + args.warmup + i:09d}" for i in range(args.n)]
        if warm:
            run_flows(server.base_url, spec["prefix"], codes, warm, args.c, args.keepalive)
        roots = {**roots, "gunicorn": server.proc.pid}
        cpu_before, self_before = tree_cpu(roots), self_cpu()
        calls_before, conns_before = len(fake.calls), fake.connections
        samples, ok, wall = run_flows(
            server.base_url, spec["prefix"], codes, measured, args.c, args.keepalive
        )
        cpu_after, self_after = tree_cpu(roots), self_cpu()
        calls, conns = len(fake.calls) - calls_before, fake.connections - conns_before
        trace_out = trace(server.base_url, spec["prefix"], codes, f"79{first - 1:09d}")
    finally:
        server.stop()
    cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
    cpu["bench (load + fake)"] = self_after - self_before
    rows, verified = count_rows(name)
    # The warm-up and the traced flow wrote rows too; the check is on the total.
    sent = len(warm) + sum(1 for s in samples if s.endpoint == "request") + 1
    result = Result(
        scenario=name,
        flows=args.n,
        ok_flows=ok,
        wall=wall,
        samples=samples,
        cpu=cpu,
        provider_calls=calls,
        provider_connections=conns,
        rows=rows,
        rows_verified=verified,
        requests_sent=sent,
        trace=trace_out,
    )
    if profile_dir is not None:
        result.profile = profile_report(profile_dir, args.profile_lines)
    return result


def profile_report(directory: Path, lines: int) -> str:
    files = sorted(str(p) for p in directory.glob("*.prof"))
    if not files:
        return "(no profile written)"
    buffer = io.StringIO()
    stats = pstats.Stats(*files, stream=buffer)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return buffer.getvalue()


# --------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def versions(pg_bindir: Path | None, redis_url: str) -> dict[str, str]:
    import django
    import gunicorn
    import psycopg
    import redis
    import rest_framework

    out = {
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "DRF": rest_framework.VERSION,
        "gunicorn": gunicorn.__version__,
        "requests": requests.__version__,
        "psycopg": psycopg.__version__,
        "redis-py": redis.__version__,
    }
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        out["PostgreSQL"] = cursor.fetchone()[0]
    out["Redis"] = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    return out


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "CPU": f"{os.cpu_count()} × {model}",
        "memory": mem,
        "kernel": platform.release(),
    }


def summarize(results: list[Result]) -> dict[str, Any]:
    by: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by[r.scenario].append(r)
    return {
        name: {
            "flows_per_s": statistics.median(r.flows_per_s for r in rs),
            "runs": [round(r.flows_per_s, 1) for r in rs],
        }
        for name, rs in by.items()
    }


def render(
    args: argparse.Namespace,
    results: list[Result],
    info: dict[str, dict[str, str]],
    markdown: bool,
) -> str:
    out: list[str] = []
    h = (lambda t: out.append(f"\n### {t}\n")) if markdown else (lambda t: out.append(f"\n== {t}"))

    def table(header: list[str], rows: list[list[Any]]) -> None:
        cells = [header] + [[str(c) for c in row] for row in rows]
        if markdown:
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            out.extend("| " + " | ".join(row) + " |" for row in cells[1:])
        else:
            widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
            for row in cells:
                out.append(
                    "  ".join(
                        c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))
                    )
                )

    h("Configuration")
    out.append(
        f"{args.n} measured flows per run after {args.warmup} warm-up flows, "
        f"{args.c} client threads, gunicorn {args.worker_class} × {args.workers} workers"
        + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
        + f", client keep-alive {'on' if args.keepalive else 'off'}, "
        f"provider latency {args.provider_latency * 1000:.0f} ms, cache backend {args.cache}, "
        f"repeat {args.repeat}."
    )
    if markdown:
        out.append("")
    for section, values in info.items():
        line = f"{section}: " + ", ".join(f"{k} {v}" for k, v in values.items())
        out.append(f"- {line}" if markdown else line)

    h("Throughput")
    table(
        ["run", "scenario", "flows ok", "wall s", "flows/s", "req/s", "errors",
         "rows = requests", "verified rows", "provider conns/call"],
        [
            [i + 1, r.scenario, f"{r.ok_flows}/{r.flows}", f"{r.wall:.2f}",
             f"{r.flows_per_s:.1f}", f"{r.requests_per_s:.1f}", sum(r.errors().values()),
             f"{r.rows} = {r.requests_sent}" + (" ✓" if r.rows == r.requests_sent else " ✗"),
             r.rows_verified,
             f"{r.provider_connections}/{r.provider_calls}"]
            for i, r in enumerate(results)
        ],
    )  # fmt: skip

    h("Latency (ms) and work per endpoint")
    rows = []
    for r in results:
        for endpoint in ENDPOINTS:
            ss = [s for s in r.samples if s.endpoint == endpoint]
            lat = [s.seconds * 1000 for s in ss]
            q = [s.queries for s in ss if s.queries is not None]
            c = [s.cache_ops for s in ss if s.cache_ops is not None]
            rows.append([
                r.scenario, endpoint, len(ss),
                f"{pct(lat, 50):.1f}", f"{pct(lat, 95):.1f}", f"{pct(lat, 99):.1f}",
                f"{max(lat):.1f}" if lat else "-",
                sum(1 for s in ss if s.status != EXPECTED[endpoint]),
                _spread(q), _spread(c),
            ])  # fmt: skip
    table(
        ["scenario", "endpoint", "requests", "p50", "p95", "p99", "max", "errors",
         "SQL queries", "Redis commands"],
        rows,
    )  # fmt: skip

    h("CPU per flow (ms), measured phase")
    names = list(results[0].cpu) if results else []
    table(
        ["scenario", *names, "server side total"],
        [
            [r.scenario, *(f"{1000 * r.cpu[k] / max(1, r.ok_flows):.2f}" for k in names),
             f"{1000 * sum(v for k, v in r.cpu.items() if not k.startswith('bench')) / max(1, r.ok_flows):.2f}"]  # noqa: E501
            for r in results
        ],
    )  # fmt: skip

    errors = Counter()
    for r in results:
        errors.update({f"{r.scenario}: {k}": v for k, v in r.errors().items()})
    if errors:
        h("Errors")
        out.extend(f"- {k}: {v}" for k, v in errors.most_common())

    summary = summarize(results)
    h("Summary (median flows/s over the runs)")
    for name, s in summary.items():
        out.append(f"- {name}: {s['flows_per_s']:.1f} flows/s (runs: {s['runs']})")
    floor_fps = summary.get("floor", {}).get("flows_per_s")
    app_fps = summary.get("app", {}).get("flows_per_s")
    if floor_fps and app_fps:
        ratio = app_fps / floor_fps
        verdict = "met" if ratio >= 0.8 else "MISSED"
        out.append(f"- app ÷ floor = {ratio:.2f} (goal ≥ 0.80: {verdict})")
        cpu_app = _server_cpu_per_flow(results, "app")
        cpu_floor = _server_cpu_per_flow(results, "floor")
        if cpu_app and cpu_floor:
            out.append(
                f"- server-side CPU per flow: app {cpu_app:.2f} ms, floor {cpu_floor:.2f} ms "
                f"(floor ÷ app = {cpu_floor / cpu_app:.2f})"
            )
    budgeted = summary.get("app-budget", {}).get("flows_per_s")
    if budgeted and app_fps:
        ratio = budgeted / app_fps
        verdict = "met" if ratio >= 0.9 else "MISSED"
        out.append(f"- app-budget ÷ app (budget set) = {ratio:.2f} (goal ≥ 0.90: {verdict})")
        cpu_budget = _server_cpu_per_flow(results, "app-budget")
        cpu_app = _server_cpu_per_flow(results, "app")
        if cpu_budget and cpu_app:
            out.append(
                f"- server-side CPU per flow: app-budget {cpu_budget:.2f} ms, app {cpu_app:.2f} ms"
            )
    fresh = summary.get("app-fresh", {}).get("flows_per_s")
    if fresh and app_fps:
        out.append(f"- app-fresh ÷ app (new provider connection per call) = {fresh / app_fps:.2f}")
    lost = [r for r in results if r.rows != r.requests_sent]
    total_errors = sum(errors.values())
    out.append(f"- errors: {total_errors}; runs with lost attempts (rows ≠ requests): {len(lost)}")

    h("Queries of one traced flow (SQL cut at 200 characters)")
    if markdown:
        out.append("```")
    seen = set()
    for r in results:
        if r.scenario in seen:
            continue
        seen.add(r.scenario)
        for endpoint in ENDPOINTS:
            out.append(f"{r.scenario} {endpoint}:")
            for part in r.trace.get(endpoint, "").split(" || "):
                if part:
                    out.append(f"    {part}")
    if markdown:
        out.append("```")
    if any(r.profile for r in results) and not markdown:
        for r in results:
            if r.profile:
                h(f"Profile of the gunicorn workers: {r.scenario}")
                out.append(r.profile)
    return "\n".join(out) + "\n"


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    mean = sum(values) / len(values)
    return f"{mean:.1f}" if lo == hi else f"{mean:.1f} ({lo}–{hi})"


def _server_cpu_per_flow(results: list[Result], scenario: str) -> float | None:
    values = [
        1000 * sum(v for k, v in r.cpu.items() if not k.startswith("bench")) / max(1, r.ok_flows)
        for r in results
        if r.scenario == scenario
    ]
    return statistics.median(values) if values else None


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=2000, help="measured flows per run (default 2000)")
    p.add_argument("-c", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    p.add_argument("--warmup", type=int, default=100, help="unmeasured flows first")
    p.add_argument(
        "--scenarios", default="floor,app,app-fresh",
        help=f"comma-separated, of: {', '.join(SCENARIOS)} (default floor,app,app-fresh)",
    )  # fmt: skip
    p.add_argument("--repeat", type=int, default=1, help="run the scenarios R times, interleaved")
    p.add_argument(
        "--keepalive", action=argparse.BooleanOptionalAction, default=False,
        help="clients reuse their connection to gunicorn (default: a new one per request, "
        "like a proxy without upstream keep-alive; spreads load evenly over workers)",
    )  # fmt: skip
    p.add_argument(
        "--provider-latency", type=float, default=0.0, metavar="SECONDS",
        help="the fake answers get_code after this pause (the real provider takes "
        "hundreds of ms); default 0",
    )  # fmt: skip
    p.add_argument(
        "--cache", default="django", choices=["django", "django-redis"],
        help="Django's RedisCache (default) or django-redis's (must be importable)",
    )  # fmt: skip
    p.add_argument(
        "--alt-tree", type=Path, metavar="DIR",
        help="a checkout whose django_flashcall the app-alt scenario serves (same migrations)",
    )  # fmt: skip
    p.add_argument("--profile", action="store_true", help="cProfile the workers, print the top")
    p.add_argument("--profile-lines", type=int, default=30)
    p.add_argument("--markdown", type=Path, help="also write the report to this Markdown file")
    p.add_argument("--json", type=Path, help="also write raw figures as JSON")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    if "app-alt" in args.scenarios and not args.alt_tree:
        p.error("the app-alt scenario needs --alt-tree DIR")
    if args.alt_tree:
        args.alt_tree = args.alt_tree.resolve()
    if not 0 < args.n + args.warmup < 9_000_000:
        p.error("-n plus --warmup must be between 1 and 9,000,000")
    if args.worker_class == "sync":
        args.threads = 1
    return args


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="flashcall-bench-", dir="/tmp"))
    os.chmod(tmp, 0o711)  # the postgres user must reach tmp/pg
    pg, redis_server = servers.Postgres(tmp), servers.Redis(tmp)
    fake = FakeTelefonIP(daily_limit=10**9, balance=10**9)
    results: list[Result] = []
    load = {"start": os.getloadavg()}
    try:
        pg.start()
        redis_server.start()
        fake.start()
        log(f"PostgreSQL on :{pg.port}, Redis on :{redis_server.port}, fake on :{fake.port}")
        base_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "BENCH_CACHE": args.cache,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "BENCH_PGHOST": "127.0.0.1",
            "BENCH_PGPORT": str(pg.port),
            "BENCH_PGUSER": servers.PG_USER,
            "BENCH_PGDATABASE": servers.PG_DB,
            "BENCH_REDIS_URL": redis_server.url(),
            "BENCH_FAKE_URL": fake.url,
            "BENCH_FAKE_TOKEN": fake.token,
        }
        for key in ("BENCH_FRESH_SESSION", "BENCH_LOGIN", "BENCH_PROFILE_DIR", "BENCH_BUDGET"):
            base_env.pop(key, None)
        os.environ.update({k: v for k, v in base_env.items() if k.startswith(("BENCH_", "DJANGO"))})

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from benchmarks import floor

        floor.create_table()
        info = {
            "versions": versions(pg.bindir, redis_server.url()),
            "machine": machine(),
        }
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        roots = {"postgres": postmaster, "redis": redis_server.proc.pid}
        index = 0
        for round_ in range(args.repeat):
            for name in args.scenarios:
                log(f"round {round_ + 1}/{args.repeat}: {name} ({args.n} flows, c={args.c})")
                result = run_scenario(name, index, args, fake, base_env, roots, tmp)
                log(
                    f"  {result.flows_per_s:.1f} flows/s, {sum(result.errors().values())} "
                    f"errors, rows {result.rows}/{result.requests_sent}"
                )
                results.append(result)
                index += 1
        load["end"] = os.getloadavg()
        info["load average (1, 5, 15 min)"] = {
            "at start": " / ".join(f"{x:.2f}" for x in load["start"]),
            "at end": " / ".join(f"{x:.2f}" for x in load["end"]),
        }
        print(render(args, results, info, markdown=False), flush=True)
        if args.markdown:
            args.markdown.write_text(render(args, results, info, markdown=True))
            log(f"wrote {args.markdown}")
        if args.json:
            args.json.write_text(json.dumps(_raw(results, info), indent=2))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        fake.stop()
        redis_server.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    bad = any(r.rows != r.requests_sent or r.errors() for r in results)
    return 1 if bad else 0


def _raw(results: list[Result], info: dict) -> dict:
    return {
        "info": info,
        "runs": [
            {
                "scenario": r.scenario,
                "flows": r.flows,
                "ok_flows": r.ok_flows,
                "wall": r.wall,
                "flows_per_s": r.flows_per_s,
                "requests_per_s": r.requests_per_s,
                "errors": dict(r.errors()),
                "rows": r.rows,
                "requests_sent": r.requests_sent,
                "cpu": r.cpu,
                "provider_calls": r.provider_calls,
                "provider_connections": r.provider_connections,
                "latency_ms": {
                    e: {
                        q: pct([s.seconds * 1000 for s in r.samples if s.endpoint == e], q)
                        for q in (50, 95, 99)
                    }
                    for e in ENDPOINTS
                },
            }
            for r in results
        ],
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
