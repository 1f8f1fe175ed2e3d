"""The fake sms.ru and uCaller servers themselves, over real HTTP (no Django)."""

import socket

import pytest
import requests

from django_flashcall.testing import FakeSMSRu, FakeUCaller

PHONE = "79244501003"


@pytest.fixture
def smsru(fake_smsru_server):
    fake_smsru_server.reset()
    yield fake_smsru_server
    fake_smsru_server.reset()


@pytest.fixture
def ucaller(fake_ucaller_server):
    fake_ucaller_server.reset()
    yield fake_ucaller_server
    fake_ucaller_server.reset()


def call_smsru(fake, phone=PHONE, **extra):
    data = {"phone": phone, "ip": "-1", "api_id": fake.api_id, **extra}
    return requests.post(fake.url + "code/call", data=data, timeout=2)


def bearer(fake):
    return {"Authorization": f"Bearer {fake.secret_key}.{fake.service_id}"}


# --------------------------------------------------------------------------- sms.ru


def test_smsru_documented_success(smsru):
    body = call_smsru(smsru).json()
    call = smsru.calls[0]
    assert body == {
        "status": "OK",
        "code": call.code,
        "call_id": call.id,
        "cost": 0.4,
        "balance": 99.6,
    }
    assert call.caller.endswith(call.code) and len(call.caller) == 11


def test_smsru_accepts_get_too_and_answers_balance_as_text_without_json(smsru):
    params = {"phone": PHONE, "ip": "-1", "api_id": smsru.api_id}
    assert requests.get(smsru.url + "code/call", params=params, timeout=2).json()["status"] == "OK"
    text = requests.get(smsru.url + "my/balance", params={"api_id": smsru.api_id}, timeout=2)
    assert text.text == "100\n99.6"


def test_smsru_per_number_caps(smsru):
    smsru.minute_limit = 2
    smsru.daily_limit = 2
    assert call_smsru(smsru).json()["status"] == "OK"
    assert call_smsru(smsru).json()["status"] == "OK"
    assert call_smsru(smsru).json()["status_code"] == 231  # the minute first
    smsru.minute_limit = 5
    assert call_smsru(smsru).json()["status_code"] == 230
    assert call_smsru(smsru, "79244501004").json()["status"] == "OK"  # another number


# --------------------------------------------------------------------------- uCaller


def test_ucaller_authenticates_three_ways(ucaller):
    url = ucaller.url + "getBalance"
    by_header = requests.get(url, headers=bearer(ucaller), timeout=2).json()
    by_query = requests.get(
        url, params={"key": ucaller.secret_key, "service_id": ucaller.service_id}, timeout=2
    ).json()
    by_json = requests.post(
        url, json={"key": ucaller.secret_key, "service_id": ucaller.service_id}, timeout=2
    ).json()
    assert by_header["status"] is by_query["status"] is by_json["status"] is True
    wrong = requests.get(url, headers={"Authorization": "Bearer x.1"}, timeout=2).json()
    assert wrong == {"status": False, "error": wrong["error"], "code": 401}


def test_ucaller_chooses_a_code_when_the_site_does_not(ucaller):
    body = requests.post(
        ucaller.url + "initCall", json={"phone": int(PHONE)}, headers=bearer(ucaller), timeout=2
    ).json()
    assert body["status"] is True and len(body["code"]) == 4
    assert "exists" not in body and "unique_request_id" not in body


def test_ucaller_repeat_wait(ucaller):
    send = {"json": {"phone": int(PHONE)}, "headers": bearer(ucaller), "timeout": 2}
    assert requests.post(ucaller.url + "initCall", **send).json()["status"] is True
    assert requests.post(ucaller.url + "initCall", **send).json()["code"] == 19
    ucaller.repeat_wait = 0
    assert requests.post(ucaller.url + "initCall", **send).json()["status"] is True


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("make", [FakeSMSRu, FakeUCaller])
def test_refuse_keeps_the_port_and_comes_back(make):
    with make() as fake:
        port = fake.port
        fake.set_fault("refuse")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
        fake.set_fault(None)
        assert fake.port == port
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        fake.set_fault("refuse")
        fake.reset()  # a reset listens again
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_timeout_answers_late_and_places_the_call(smsru):
    smsru.slow_seconds = 0.5
    smsru.set_fault("timeout", count=1)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            smsru.url + "code/call",
            data={"phone": PHONE, "api_id": smsru.api_id},
            timeout=(1, 0.1),
        )
    assert smsru.wait_for_calls(1)  # placed once its pause is over
    assert len(smsru.calls) == 1
    assert call_smsru(smsru, "79244501004").json()["status"] == "OK"  # count=1: over


def test_faults_hit_only_authorized_call_requests(ucaller):
    ucaller.set_fault("server_error")
    balance = requests.get(ucaller.url + "getBalance", headers=bearer(ucaller), timeout=2)
    assert balance.status_code == 200
    wrong = requests.post(
        ucaller.url + "initCall",
        json={"phone": int(PHONE)},
        headers={"Authorization": "Bearer x.1"},
        timeout=2,
    )
    assert wrong.json()["code"] == 401
    call = requests.post(
        ucaller.url + "initCall", json={"phone": int(PHONE)}, headers=bearer(ucaller), timeout=2
    )
    assert call.status_code == 502 and ucaller.calls == []


def test_unknown_fault_is_refused(smsru):
    with pytest.raises(ValueError):
        smsru.set_fault("nonsense")
