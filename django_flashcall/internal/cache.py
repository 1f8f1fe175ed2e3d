"""The cache that holds the shared state (locks, breaker), guarded.

When the cache server is down, its client raises its own errors (redis'
``ConnectionError``, pymemcache's ...). Those become one
:class:`CacheUnavailable` here, so ``request_code`` can refuse the paid call
cleanly (fail closed, a 503 with a row) instead of answering a 500; what runs
after a call was placed only logs it, so no placed call is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import caches

from ..conf import flashcall_settings

logger = logging.getLogger("django_flashcall")


class CacheUnavailable(Exception):
    pass


class GuardedCache:
    def __init__(self, alias: str) -> None:
        self._cache = caches[alias]

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._cache, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            failure = None
            try:
                return method(*args, **kwargs)
            except ValueError:  # incr/decr of a missing key: the caller's business
                raise
            except Exception as exc:  # noqa: BLE001  any backend's transport error
                failure = type(exc).__name__
            raise CacheUnavailable(f"cache {name}() failed ({failure})")

        return call


def shared_cache() -> GuardedCache:
    return GuardedCache(flashcall_settings.CACHE_ALIAS)


def quietly(action: Callable[[], Any]) -> None:
    """Run a bookkeeping step whose failure must not undo a placed call."""
    try:
        action()
    except CacheUnavailable as exc:
        logger.warning("%s; continuing", exc)
