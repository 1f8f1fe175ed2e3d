"""The fake servers' life (start, stop, refuse) and the rarer parts of the
sms.ru and uCaller fakes' protocol, over real sockets (no Django)."""

import errno
import socket

import pytest
import requests

from django_flashcall.testing import FakeSMSRu, FakeTelefonIP, FakeUCaller

PHONE = "79244501003"
FAKES = [FakeTelefonIP, FakeSMSRu, FakeUCaller]


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def bind_plainly(port: int) -> None:
    """Bind ``port`` without SO_REUSEADDR: fails while anybody holds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


@pytest.fixture
def ucaller(fake_ucaller_server):
    fake_ucaller_server.reset()
    yield fake_ucaller_server
    fake_ucaller_server.reset()


def bearer(fake):
    return {"Authorization": f"Bearer {fake.secret_key}.{fake.service_id}"}


def init_call(fake, **payload):
    payload.setdefault("phone", int(PHONE))
    return requests.post(fake.url + "initCall", json=payload, headers=bearer(fake), timeout=2)


# --------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("make", FAKES)
def test_start_and_stop_are_idempotent(make):
    fake = make().start()
    port = fake.port
    assert fake.start() is fake and fake.port == port  # one server, not a second one
    assert not refuses(port)
    fake.stop()
    fake.stop()  # harmless, as is the context manager's exit after a stop
    assert refuses(port)


@pytest.mark.parametrize("make", [FakeSMSRu, FakeUCaller])
def test_refusing_twice_keeps_refusing_on_the_same_port(make):
    with make() as fake:
        port = fake.port
        fake.set_fault("refuse")
        fake.set_fault("refuse")
        assert refuses(port)
        fake.set_fault(None)
        assert fake.port == port and not refuses(port)


@pytest.mark.parametrize("make", [FakeSMSRu, FakeUCaller])
def test_a_refuse_set_before_the_start_is_honoured(make):
    fake = make()
    fake.set_fault("refuse")
    with fake:
        assert fake.port > 0 and refuses(fake.port)
        fake.set_fault(None)
        assert not refuses(fake.port)


def test_stopping_a_refusing_fake_gives_its_port_back():
    fake = FakeSMSRu().start()
    port = fake.port
    fake.set_fault("refuse")
    with pytest.raises(OSError) as info:
        bind_plainly(port)  # reserved while refusing: nobody else takes it
    assert info.value.errno == errno.EADDRINUSE
    fake.stop()
    bind_plainly(port)


# --------------------------------------------------------------------------- faults


def test_fault_actions_choose_which_requests_misbehave(ucaller):
    ucaller.fault_actions = frozenset({"getBalance"})
    ucaller.set_fault("server_error")
    balance = requests.get(ucaller.url + "getBalance", headers=bearer(ucaller), timeout=2)
    assert balance.status_code == 502
    assert init_call(ucaller).json()["status"] is True  # not listed: answered normally


def test_a_fault_count_counts_down_to_normal_answers(ucaller):
    ucaller.repeat_wait = 0
    ucaller.set_fault("server_error", count=2)
    statuses = [init_call(ucaller).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert (ucaller.fault, len(ucaller.calls)) == (None, 1)


# --------------------------------------------------------------------------- what tests read


@pytest.mark.parametrize("make", [FakeSMSRu, FakeUCaller])
def test_last_call_accepts_any_spelling_of_the_phone(make):
    with make() as fake:
        with fake._lock:
            fake._new_call(PHONE, "1234", "1", 0.0)
        for spelling in (PHONE, "89244501003", "+7 (924) 450-10-03", "9244501003"):
            assert fake.last_code(spelling) == "1234"
        assert fake.last_call("12345") is None  # not a phone: no call


# --------------------------------------------------------------------------- uCaller


def test_ucaller_unknown_method_is_a_json_404(ucaller):
    response = requests.get(ucaller.url + "sendSms", headers=bearer(ucaller), timeout=2)
    assert response.status_code == 404
    assert response.json() == {"status": False, "error": "Method not found", "code": 404}


@pytest.mark.parametrize("code", ["12a4", "123", "12345"])
def test_ucaller_a_code_that_is_not_4_digits_is_error_2(ucaller, code):
    body = init_call(ucaller, code=code).json()
    assert (body["status"], body["code"]) == (False, 2)
    assert ucaller.calls == []


def test_ucaller_echoes_the_client_and_the_unique_key(ucaller):
    body = init_call(ucaller, code="0042", client="user-7", unique="u-1").json()
    assert (body["code"], body["client"], body["unique_request_id"]) == ("0042", "user-7", "u-1")


def test_ucaller_set_status_of_one_call_among_others(ucaller):
    ucaller.repeat_wait = 0
    first = init_call(ucaller).json()["ucaller_id"]
    second = init_call(ucaller).json()["ucaller_id"]
    ucaller.set_status(second, None)
    info = requests.get(
        ucaller.url + "getInfo", params={"uid": second}, headers=bearer(ucaller), timeout=2
    )
    assert info.json()["call_status"] == -1
    assert [c.delivered for c in ucaller.calls] == [True, None]
    assert first != second
    with pytest.raises(KeyError):
        ucaller.set_status(999999, False)


# --------------------------------------------------------------------------- sms.ru


def test_smsru_unknown_path_is_a_404():
    with FakeSMSRu() as fake:
        response = requests.post(fake.url + "sms/send", data={"api_id": fake.api_id}, timeout=2)
        assert (response.status_code, response.text) == (404, "Not Found")
        assert fake.calls == []


def test_ucaller_a_json_body_that_is_not_json_has_no_fields(ucaller):
    response = requests.post(
        ucaller.url + "initCall",
        data=b'{"phone": 7924',
        headers={**bearer(ucaller), "Content-Type": "application/json"},
        timeout=2,
    )
    assert response.status_code == 200  # the fake's own answer, not a crash
    assert (response.json()["code"], ucaller.calls) == (3, [])  # no phone: "invalid phone"
