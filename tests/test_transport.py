"""The shared provider transport (``providers/transport.py``) over real sockets."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from django_flashcall.providers import transport
from django_flashcall.providers.base import ProviderError
from django_flashcall.testing import refused_url


def test_an_answer_and_what_was_sent(canned):
    canned.answer(201, json={"ok": True})
    answer = transport.fetch(canned.url + "t/x/", {"sms": "true", "a": "b c"})
    assert (answer.status, answer.body, answer.too_large) == (201, b'{"ok": true}', False)
    assert canned.requests == [("GET", "/api/v1/authcalls/t/x/?sms=true&a=b+c")]


def test_a_body_past_the_limit_is_cut_and_flagged(canned):
    canned.answer(200, body=b"x" * (transport.MAX_BODY + 10))
    answer = transport.fetch(canned.url)
    assert answer.too_large and len(answer.body) == transport.MAX_BODY


def test_the_connection_of_an_unread_body_is_not_reused(canned, monkeypatch):
    monkeypatch.setattr(transport, "_pool", None)
    canned.answer(200, body=b"x" * (transport.MAX_BODY + 10))
    transport.fetch(canned.url)
    canned.answer(200, json={"ok": True})
    # The rest of the big body must not be read as the next answer.
    assert transport.fetch(canned.url).body == b'{"ok": true}'


def test_a_refused_connection_is_a_connection_failure_without_a_chain():
    with pytest.raises(ProviderError) as info:
        transport.fetch(refused_url() + "secret-token/get_code/")
    error = info.value
    assert (error.reason, error.message) == ("connection", "the provider could not be reached")
    assert error.__context__ is None and error.__cause__ is None
    assert "secret-token" not in repr(error.args)


def test_timeouts_accept_a_number_or_a_pair(settings):
    settings.FLASHCALL_TIMEOUT = 2
    assert (transport.timeout().connect_timeout, transport.timeout().read_timeout) == (2, 2)
    pair = transport.timeout((1.5, 7))
    assert (pair.connect_timeout, pair.read_timeout) == (1.5, 7)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_an_untrusted_certificate_is_refused(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProviderError) as info:
            transport.fetch(f"https://127.0.0.1:{server.server_address[1]}/x/")
    finally:
        server.shutdown()
        server.server_close()
    assert (info.value.reason, info.value.message) == (
        "connection",
        "TLS verification of the provider failed",
    )
