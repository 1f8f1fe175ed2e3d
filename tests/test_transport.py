"""The shared provider transport (``providers/transport.py``) over real sockets."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
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


def test_a_plain_url_goes_to_its_origins_pool_kept_between_calls(canned):
    pool, path = transport._route("https://api.example.ru:8443/api/v1/t/get_code/7900?sms=1")
    assert (pool.scheme, pool.host, pool.port) == ("https", "api.example.ru", 8443)
    assert path == "/api/v1/t/get_code/7900?sms=1"
    assert transport._route("https://api.example.ru:8443/other")[0] is pool
    # The origin's pool carries the rules of the process's pool: TLS verified.
    assert (pool.cert_reqs, pool.ca_certs) == ("CERT_REQUIRED", certifi.where())
    canned.answer(200, json={"ok": True})
    assert transport.fetch(canned.url + "a/").status == 200
    assert transport.fetch(canned.url + "b/").status == 200
    assert canned.requests == [("GET", "/api/v1/authcalls/a/"), ("GET", "/api/v1/authcalls/b/")]


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@api.example.ru/x",  # userinfo
        "http://[::1]:8080/x",  # an IPv6 literal
        "https://api.example.ru",  # no path
        "https://api.example.ru/x#part",  # a fragment
        "ftp://api.example.ru/x",
    ],
)
def test_other_urls_are_left_to_urllib3s_parser(url):
    assert transport._route(url) is None


def test_a_new_process_pool_forgets_the_origins(monkeypatch):
    before = transport._route("https://api.example.ru/x")[0]
    monkeypatch.setattr(transport, "_pool_pid", -1)  # as in a forked child
    after = transport._route("https://api.example.ru/x")[0]
    assert after is not before
    assert transport._route("https://api.example.ru/y")[0] is after


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
