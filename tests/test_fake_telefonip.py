"""The fake telefon-ip server itself, over real HTTP (no Django involved)."""

import json
import socket
import time

import pytest
import requests

from django_flashcall.testing import FAULTS, FakeTelefonIP, refused_url

PHONE = "89244501003"


@pytest.fixture
def fake(fake_telefonip_server):
    fake_telefonip_server.reset()
    yield fake_telefonip_server
    fake_telefonip_server.reset()


def get_code(fake, phone=PHONE, *, token=None, session=requests, **kwargs):
    token = fake.token if token is None else token
    kwargs.setdefault("timeout", 2)
    return session.get(f"{fake.url}{token}/get_code/{phone}/", **kwargs)


# --------------------------------------------------------------------------- get_code


def test_get_code_success(fake):
    response = get_code(fake)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is True and body["error"] == ""
    assert body["data"]["phone"] == "79244501003"
    call = fake.calls[-1]
    assert body["data"] == {"phone": "79244501003", "code": call.code, "id": call.id}
    assert call.phone == PHONE and call.phone7 == "79244501003"
    assert call.code == call.caller[-4:] and len(call.caller) == 11
    assert call.code.isdigit() and len(call.code) == 4
    assert call.sms is False


def test_get_code_ids_increment_and_trailing_slash_is_optional(fake):
    first = get_code(fake).json()["data"]["id"]
    second = requests.get(f"{fake.url}{fake.token}/get_code/89244501004", timeout=2).json()
    assert second["data"]["id"] == first + 1


def test_get_code_by_post_with_sms(fake):
    response = requests.post(
        f"{fake.url}{fake.token}/get_code/{PHONE}/", params={"sms": "true"}, timeout=2
    )
    assert response.json()["success"] is True
    assert fake.calls[-1].sms is True
    assert fake.requests[-1].method == "POST"


def test_get_code_by_post_with_phone_in_the_body(fake):
    response = requests.post(f"{fake.url}{fake.token}/get_code/", data={"phone": PHONE}, timeout=2)
    assert response.json()["success"] is True
    assert fake.calls[-1].phone == PHONE


def test_wrong_token_is_401(fake):
    response = get_code(fake, token="not-the-token")
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Unauthorized token", "data": {}}
    assert fake.calls == []


@pytest.mark.parametrize("phone", ["79244501003", "8924450100", "892445010031", "89a4450100"])
def test_bad_phone_format_is_400(fake, phone):
    response = get_code(fake, phone)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "does not match the format 89XXXXXXXXX or phone field is missing",
        "data": {},
    }
    assert fake.calls == []


def test_missing_phone_is_400(fake):
    response = requests.get(f"{fake.url}{fake.token}/get_code/", timeout=2)
    assert response.status_code == 400
    assert "phone field is missing" in response.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/authcalls/",
        "/api/v1/authcalls/{token}/",
        "/api/v1/authcalls/{token}/nope/1/",
        "/api/v1/authcalls/{token}/get_balance/1/",
    ],
)
def test_unknown_paths_are_404_json(fake, path):
    response = requests.get(fake.base_url + path.format(token=fake.token), timeout=2)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_other_methods_are_404_json(fake):
    response = requests.put(f"{fake.url}{fake.token}/get_code/{PHONE}/", timeout=2)
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert fake.calls == []


def test_daily_cap_per_phone(fake):
    for _ in range(3):
        assert get_code(fake).json()["success"] is True
    response = get_code(fake)
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "error": "limit of calls per day exceeded",
        "data": {},
    }
    assert get_code(fake, "89244501004").json()["success"] is True  # another phone
    assert len(fake.calls) == 4

    fake.reset()
    assert get_code(fake).json()["success"] is True


def test_daily_cap_is_configurable(fake):
    fake.daily_limit = 1
    assert get_code(fake).json()["success"] is True
    assert get_code(fake).json()["error"] == "limit of calls per day exceeded"


# --------------------------------------------------------------------------- get_status


def status(fake, call_id):
    return requests.get(f"{fake.url}{fake.token}/get_status/{call_id}/", timeout=2)


def test_get_status_of_a_call(fake):
    call_id = get_code(fake).json()["data"]["id"]
    response = status(fake, call_id)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == call_id and body["phone"] == PHONE
    assert body["status"] == 1 and body["status"] is not True
    assert body["status_info"] == "Ok: SIP 200 OK"
    assert body["price"] == 0.2
    assert len(body["created_at"]) == 19 and body["created_at"][10] == "T"


def test_get_status_undelivered_and_tolerant_types(fake):
    call_id = get_code(fake).json()["data"]["id"]
    fake.set_status(call_id, delivered=False)
    assert status(fake, call_id).json()["status"] == 0

    fake.status_as_bool = True
    fake.price_as_string = True
    body = status(fake, call_id).json()
    assert body["status"] is False
    assert body["price"] == "0.2"

    fake.deliver_calls = False
    other = get_code(fake, "89244501004").json()["data"]["id"]
    assert status(fake, other).json()["status"] is False


@pytest.mark.parametrize("call_id", ["999", "abc"])
def test_get_status_unknown_id_is_400(fake, call_id):
    response = status(fake, call_id)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "id record not found", "data": {}}


def test_get_status_wrong_token_is_401(fake):
    call_id = get_code(fake).json()["data"]["id"]
    response = requests.get(f"{fake.url}wrong/get_status/{call_id}/", timeout=2)
    assert response.status_code == 401


# --------------------------------------------------------------------------- get_balance


def balance(fake):
    return requests.get(f"{fake.url}{fake.token}/get_balance/", timeout=2).json()


def test_get_balance_goes_down_with_each_call(fake):
    assert balance(fake) == {"balance": 5.0, "price": 0.2, "balance_limit": 0.0}
    get_code(fake)
    get_code(fake)
    get_code(fake)
    get_code(fake)  # over the cap: not charged
    assert balance(fake)["balance"] == 4.4

    fake.price_as_string = True
    assert balance(fake) == {"balance": "4.4", "price": "0.2", "balance_limit": "0.0"}

    fake.reset()
    assert balance(fake)["balance"] == 5.0


def test_no_call_without_funds(fake):
    fake.balance = fake.price / 2
    assert get_code(fake).json() == {"success": False, "error": "insufficient funds", "data": {}}


# --------------------------------------------------------------------------- faults


def test_server_error(fake):
    fake.set_fault("server_error")
    response = get_code(fake)
    assert response.status_code == 500
    assert response.text.startswith("<html>")
    assert fake.calls == []


def test_malformed(fake):
    fake.set_fault("malformed")
    response = get_code(fake)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_success_false(fake):
    fake.set_fault("success_false")
    response = get_code(fake)
    assert response.status_code == 200
    assert response.json()["success"] is False


def test_bad_code_and_missing_code(fake):
    fake.set_fault("bad_code")
    assert get_code(fake).json()["data"]["code"] == "12a"
    fake.set_fault("missing_code")
    body = get_code(fake).json()
    assert body["success"] is True and "code" not in body["data"]
    assert fake.calls == []


def test_format_error(fake):
    fake.set_fault("format_error")
    response = get_code(fake)
    assert response.status_code == 400
    assert "89XXXXXXXXX" in response.json()["error"]


def test_slow_answers_late_but_normally(fake):
    fake.slow_seconds = 0.3
    fake.set_fault("slow")
    started = time.monotonic()
    response = get_code(fake)
    assert time.monotonic() - started >= 0.3
    assert response.json()["success"] is True
    assert len(fake.calls) == 1


def test_slow_trips_a_read_timeout(fake):
    fake.slow_seconds = 1
    fake.set_fault("slow")
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_code(fake, timeout=(1, 0.2))
    assert len(fake.requests) == 1


def test_slow_request_does_not_outlive_reset(fake):
    fake.slow_seconds = 0.3
    fake.set_fault("slow")
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_code(fake, timeout=(1, 0.1))
    fake.reset()
    time.sleep(0.4)
    assert fake.calls == [] and fake.requests == []


def test_drop(fake):
    fake.set_fault("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        get_code(fake)
    assert len(fake.requests) == 1
    assert fake.calls == []


def test_redirect(fake):
    fake.set_fault("redirect", count=1)
    response = get_code(fake, params={"sms": "true"}, allow_redirects=False)
    assert response.status_code == 302
    assert (
        response.headers["Location"]
        == f"/moved/api/v1/authcalls/{fake.token}/get_code/{PHONE}/?sms=true"
    )
    assert fake.calls == []

    followed = requests.get(fake.base_url + response.headers["Location"], timeout=2)
    assert followed.json()["success"] is True  # tempting, for a client that follows
    assert fake.requests[-1].path.startswith("/moved/")
    assert fake.calls[-1].sms is True


def test_huge(fake):
    fake.set_fault("huge")
    response = get_code(fake)
    assert response.status_code == 200
    assert len(response.content) > 1024 * 1024
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.json()["success"] is True


def test_fault_count_then_off(fake):
    fake.set_fault("server_error", count=2)
    assert get_code(fake).status_code == 500
    assert status(fake, 1).status_code == 400  # get_status is not faulted, nor counted
    assert get_code(fake).status_code == 500
    assert get_code(fake).status_code == 200
    assert fake.fault is None


def test_fault_attribute_and_actions(fake):
    fake.fault = "server_error"
    assert balance(fake)["balance"] == 5.0
    fake.fault_actions = frozenset({"get_code", "get_balance"})
    response = requests.get(f"{fake.url}{fake.token}/get_balance/", timeout=2)
    assert response.status_code == 500
    fake.set_fault(None)
    assert get_code(fake).status_code == 200


def test_faults_spare_wrong_tokens(fake):
    fake.set_fault("server_error")
    assert get_code(fake, token="wrong").status_code == 401


def test_unknown_fault_is_refused(fake):
    assert "drop" in FAULTS
    with pytest.raises(ValueError):
        fake.set_fault("explode")
    with pytest.raises(ValueError):
        fake.set_fault("drop", count=0)


def test_reset_clears_faults(fake):
    fake.set_fault("server_error")
    fake.reset()
    assert fake.fault is None
    assert get_code(fake).status_code == 200


# --------------------------------------------------------------------------- records


def test_requests_are_recorded(fake):
    get_code(fake, params={"sms": "true"})
    get_code(fake, token="sent-token")
    requests.get(fake.base_url + "/elsewhere?x=1", timeout=2)
    before = time.time()
    requests.get(f"{fake.url}{fake.token}/get_balance/", timeout=2)

    first, second, third, fourth = fake.requests
    assert (first.method, first.action, first.phone) == ("GET", "get_code", PHONE)
    assert first.token == fake.token
    assert first.query == {"sms": "true"}
    assert first.path == f"/api/v1/authcalls/{fake.token}/get_code/{PHONE}/?sms=true"
    assert second.token == "sent-token"
    assert (third.action, third.token, third.query) == ("", "", {"x": "1"})
    assert fourth.action == "get_balance" and fourth.phone == ""
    assert before - 1 <= fourth.time <= time.time()
    assert fake.requests_for("get_code") == [first, second]


def test_last_code_accepts_any_spelling(fake):
    get_code(fake)
    first = fake.calls[-1].code
    get_code(fake)
    code = fake.calls[-1].code
    get_code(fake, "89244501004")

    for spelling in ("79244501003", "89244501003", "+7 (924) 450-10-03", "9244501003"):
        assert fake.last_code(spelling) == code
        assert fake.code_for(spelling) == code
    assert fake.last_code() == fake.calls[-1].code
    assert fake.last_call("79244501003").id == fake.calls[1].id
    assert fake.calls[0].code == first
    assert fake.last_code("79000000000") is None
    assert fake.last_code("12345") is None  # not a phone
    with pytest.raises(KeyError):
        fake.set_status(999999, False)


def test_keep_alive_reuses_one_connection(fake):
    fake.daily_limit = 10
    with requests.Session() as session:
        for _ in range(5):
            assert get_code(fake, session=session).json()["success"] is True
    assert fake.connections == 1


def test_connections_are_counted(fake):
    for _ in range(3):
        requests.get(f"{fake.url}{fake.token}/get_balance/", timeout=2)  # a session each
    assert fake.connections == 3


def test_nothing_is_printed(fake, capfd):
    get_code(fake)
    get_code(fake, token="wrong")
    requests.get(fake.base_url + "/nope", timeout=2)
    fake.set_fault("drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        get_code(fake)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_repr_hides_the_token(fake):
    assert fake.token not in repr(fake)


# --------------------------------------------------------------------------- lifecycle


def test_refused_url_refuses():
    url = refused_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1/authcalls/")
    port = int(url.split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "t/get_balance/", timeout=1)


def test_context_manager_starts_and_stops():
    with FakeTelefonIP("own-token", daily_limit=1) as fake:
        assert fake.token == "own-token" and fake.port > 0
        assert fake.url == f"http://127.0.0.1:{fake.port}/api/v1/authcalls/"
        with requests.Session() as session:  # an idle keep-alive connection at stop
            assert get_code(fake, session=session).json()["success"] is True
    with pytest.raises(requests.exceptions.ConnectionError):
        get_code(fake)


def test_stop_does_not_wait_for_slow_requests():
    fake = FakeTelefonIP(slow_seconds=10).start()
    fake.set_fault("slow")
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_code(fake, timeout=(1, 0.1))
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
