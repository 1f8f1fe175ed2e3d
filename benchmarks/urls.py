"""URLs of the benchmark project, and its instrumentation.

- ``api/flashcall/``: the app's JSON API, as a site would include it;
- ``floor/``: the minimal view pair of ``benchmarks/floor.py``;
- :class:`CountingMiddleware`: counts the SQL queries (``X-Queries``) and the
  Redis commands (``X-Cache-Ops``) of each request, in-process. A request
  with ``X-Bench-Trace: 1`` also gets the statements in ``X-Queries-Trace``;
- ``BENCH_FRESH_SESSION=1``: the provider gets a new connection pool (so a
  new TCP connection) for every call instead of the shared one;
- ``BENCH_PROFILE_DIR``: each worker thread profiles its requests with
  cProfile and writes ``<dir>/<pid>-<thread>.prof`` when the worker exits.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from . import floor

urlpatterns = [
    path("api/flashcall/", include("django_flashcall.api.urls")),
    path("floor/request/", floor.request_view),
    path("floor/confirm/", floor.confirm_view),
]

_local = threading.local()


def _count_redis_commands() -> None:
    """Wrap redis-py's ``execute_command`` once to count into the current request."""
    import redis

    original = redis.Redis.execute_command
    if getattr(original, "_bench_counted", False):
        return

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        ops = getattr(_local, "redis", None)
        if ops is not None:
            ops.append(str(args[0]) if args else "?")
        return original(self, *args, **options)

    execute_command._bench_counted = True  # type: ignore[attr-defined]
    redis.Redis.execute_command = execute_command  # type: ignore[method-assign]


def _fresh_sessions() -> None:
    """Give the providers a new connection pool per call.

    The pool of the previous call on the same thread is closed first, so
    sockets do not pile up until garbage collection.
    """
    from django_flashcall.providers import transport

    def get_pool() -> Any:
        previous = getattr(_local, "pool", None)
        if previous is not None:
            previous.clear()
        _local.pool = transport.make_pool()
        return _local.pool

    transport.get_pool = get_pool


_profiles: dict[int, cProfile.Profile] = {}


def _profile() -> cProfile.Profile:
    key = threading.get_ident()
    profile = _profiles.get(key)
    if profile is None:
        # CPU time of this thread: waiting for the GIL or a socket is not cost.
        profile = _profiles[key] = cProfile.Profile(time.thread_time)
    return profile


def _dump_profiles() -> None:
    for ident, profile in list(_profiles.items()):
        profile.dump_stats(os.path.join(settings.BENCH_PROFILE_DIR, f"{os.getpid()}-{ident}.prof"))


class CountingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        _count_redis_commands()
        if settings.BENCH_FRESH_SESSION:
            _fresh_sessions()
        self.profiling = bool(settings.BENCH_PROFILE_DIR)
        if self.profiling:
            atexit.register(_dump_profiles)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            queries.append(sql)
            return execute(sql, params, many, context)

        _local.redis = ops = []
        try:
            with connection.execute_wrapper(count):
                if self.profiling:
                    profile = _profile()
                    profile.enable()
                    try:
                        response = self.get_response(request)
                    finally:
                        profile.disable()
                else:
                    response = self.get_response(request)
        finally:
            _local.redis = None
        response["X-Queries"] = str(len(queries))
        response["X-Cache-Ops"] = str(len(ops))
        if request.headers.get("X-Bench-Trace") == "1":
            trace = [" ".join(q.split())[:200] for q in queries] + [f"redis {op}" for op in ops]
            response["X-Queries-Trace"] = " || ".join(trace)
        return response
