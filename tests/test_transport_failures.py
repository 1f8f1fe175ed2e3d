"""providers/transport.py: the failures between "never sent" and "sent,
answer lost", and the one shared pool, over real sockets where they can be made."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from django_flashcall.providers import transport
from django_flashcall.providers.base import ProviderError


def failure(url: str) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        transport.fetch(url)
    assert info.value.__context__ is None  # nothing chained that could hold the URL
    return info.value


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http:///secret-token/get_code/", "LocationValueError"),  # no host
        ("http://127.0.0.1:99999/secret-token/", "LocationParseError"),
        ("ftp://127.0.0.1/secret-token/", "URLSchemeUnknown"),
    ],
)
def test_a_url_that_cannot_be_requested_placed_no_call(url, kind):
    # A misconfigured ``url`` option: nothing left, so the next provider may be asked.
    error = failure(url)
    assert (error.reason, error.no_call) == ("connection", True)
    assert error.message == f"request failed ({kind})"
    assert "secret-token" not in repr(error.args)


def test_a_connect_timeout_placed_no_call():
    # What urllib3 raises once its connect retries are spent (a SYN that got no answer).
    exc = MaxRetryError(None, "/x", reason=ConnectTimeoutError(None, "timed out"))
    error = transport._failure(exc)
    assert (error.reason, error.message, error.no_call) == (
        "connection",
        "connection to the provider timed out",
        True,
    )


@pytest.fixture
def cut_off_server():
    """Answers every request with headers announcing 100 bytes, sends 10 and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"code": 1')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/"
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close alone does not)
    listener.close()
    thread.join(timeout=5)


def test_an_answer_cut_off_midway_may_have_placed_a_call(cut_off_server):
    error = failure(cut_off_server + "token/get_code/89244501003/")
    assert (error.reason, error.message) == ("timeout", "the provider's answer was cut off")
    assert error.no_call is False  # the request was sent: never retried, never failed over


class _RacingLock:
    """A lock under which another thread "wins the race" to make the pool."""

    def __init__(self, winner: object) -> None:
        self.lock = threading.Lock()
        self.winner = winner

    def __enter__(self) -> None:
        self.lock.acquire()
        # What the other thread did while this one waited for the lock:
        transport._pool, transport._pool_pid = self.winner, os.getpid()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_a_pool_made_by_another_thread_meanwhile_is_kept(monkeypatch):
    # Two pools would each keep their own connections: sockets leak, and the
    # pool's per-host limit would not hold.
    winner = transport.make_pool()
    monkeypatch.setattr(transport, "_pool", None)
    monkeypatch.setattr(transport, "_pool_pid", None)
    monkeypatch.setattr(transport, "_pool_lock", _RacingLock(winner))
    monkeypatch.setattr(transport, "make_pool", lambda: pytest.fail("a second pool was made"))
    assert transport.get_pool() is winner
    assert transport.get_pool() is winner  # and from then on, without the lock
