"""Answers the fake servers never give (a 404 page, a code as a number, an
undocumented error code), read by the real clients over real HTTP from the
canned server (``tests/canned_http.py``): each gets the safest reading.

``no_call`` decides whether the next provider is asked and whether the
attempt counts against the limits, so every test pins it.
"""

import logging

import pytest

from django_flashcall.providers import (
    InvalidPhoneForProvider,
    ProviderError,
    SMSRuProvider,
    TelefonIPProvider,
    UCallerProvider,
)

PHONE = "79244501003"


@pytest.fixture
def smsru(canned):
    return SMSRuProvider(api_id="canned-api-id", url=canned.url)


@pytest.fixture
def ucaller(canned):
    return UCallerProvider(service_id="1", secret_key="canned-secret-key", url=canned.url)


def failure(call, *args):
    with pytest.raises(ProviderError) as info:
        call(*args)
    error = info.value
    return error.reason, error.no_call, error.trips_breaker


# --------------------------------------------------------------------------- sms.ru and uCaller


@pytest.mark.parametrize("client", ["smsru", "ucaller"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, ("unauthorized", True, True)),
        (403, ("unauthorized", True, True)),
        # Not the provider's API at this URL (a proxy's page, a wrong path):
        # nothing was dialled, so the next provider may be asked.
        (404, ("rejected", True, True)),
        (200, ("bad_response", False, True)),  # sent and answered oddly: maybe dialled
    ],
)
def test_a_call_answer_that_is_not_json_is_read_by_its_status(
    request, canned, client, status, expected
):
    provider = request.getfixturevalue(client)
    canned.answer(status, body="<html>Not here</html>")
    assert failure(provider.send, PHONE) == expected


@pytest.mark.parametrize("client", ["smsru", "ucaller"])
def test_a_balance_that_is_not_json_is_a_bad_response(request, canned, client):
    provider = request.getfixturevalue(client)
    canned.answer(200, body="100\n99.6")  # sms.ru's balance without json=1
    assert failure(provider.get_balance)[0] == "bad_response"


# --------------------------------------------------------------------------- sms.ru


@pytest.mark.parametrize(("code", "expected"), [(1003, "1003"), (42, "0042"), ("0042", "0042")])
def test_smsru_code_as_a_number_keeps_its_leading_zeros(smsru, canned, code, expected):
    canned.answer(json={"status": "OK", "code": code, "call_id": "1-2", "cost": 0.4})
    assert smsru.send(PHONE).code == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # A call may have been placed either way: not a refusal, so it counts.
        ({"status": "OK", "call_id": "1-2"}, "no 4-digit code"),
        ({"status": "OK", "code": "12345"}, "no 4-digit code"),
        ({"status": "OK", "code": True}, "no 4-digit code"),
        ({"status": "QUEUED", "code": "1234"}, "a code but no OK status"),
    ],
)
def test_smsru_an_answer_without_a_clear_code_is_ambiguous(smsru, canned, body, message):
    canned.answer(json=body)
    with pytest.raises(ProviderError) as info:
        smsru.send(PHONE)
    assert (info.value.reason, info.value.no_call) == ("bad_response", False)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [
        ("231", ("rejected", True, False)),  # a number's cap, even as a string
        ("202", ("rejected", True, False)),  # the phone, even as a string
        (None, ("rejected", True, True)),  # no code: the account's problem
        ("busy", ("rejected", True, True)),
        (True, ("rejected", True, True)),
        # "Server error, repeat the request": it may have dialled.
        (500, ("server_error", False, True)),
    ],
)
def test_smsru_error_codes(smsru, canned, status_code, expected):
    body = {"status": "ERROR", "status_text": "whatever"}
    if status_code is not None:
        body["status_code"] = status_code
    canned.answer(json=body)
    assert failure(smsru.send, PHONE) == expected


def test_smsru_an_error_code_in_the_message_is_its_number(smsru, canned):
    canned.answer(json={"status": "ERROR", "status_code": "202", "status_text": "bad phone"})
    with pytest.raises(InvalidPhoneForProvider) as info:
        smsru.send(PHONE)
    assert info.value.message == "sms.ru 202: bad phone"


# --------------------------------------------------------------------------- uCaller


@pytest.mark.parametrize(("answered", "expected"), [(1003, "1003"), (42, "0042"), ("0042", "0042")])
def test_ucaller_its_code_stands_even_as_a_number(ucaller, canned, answered, expected):
    # The code of the call uCaller placed wins over the one we asked for
    # (a repeated unique key answers the first call's).
    canned.answer(json={"status": True, "ucaller_id": 7, "code": answered})
    result = ucaller.send(PHONE)
    assert (result.code, result.provider_id) == (expected, "7")


@pytest.mark.parametrize("answered", ["12a4", "12345", "١٢٣٤"])
def test_ucaller_a_malformed_code_is_a_bad_response(ucaller, canned, answered):
    canned.answer(json={"status": True, "ucaller_id": 7, "code": answered})
    assert failure(ucaller.send, PHONE) == ("bad_response", False, True)


def test_ucaller_no_status_and_no_call_id_is_a_bad_response(ucaller, canned):
    canned.answer(json={"phone": PHONE})
    with pytest.raises(ProviderError) as info:
        ucaller.send(PHONE)
    assert (info.value.reason, info.value.no_call) == ("bad_response", False)
    assert info.value.message == "uCaller's answer has no status"


@pytest.mark.parametrize(
    ("code", "logged"),
    [
        (1, True),  # a malformed request: ours to fix, so it is logged as an error
        (2, True),
        (5, False),  # could not initialise
        (None, False),  # no number at all
    ],
)
def test_ucaller_other_error_codes_refuse_the_account(ucaller, canned, caplog, code, logged):
    canned.answer(json={"status": False, "error": "no", "code": code})
    with caplog.at_level(logging.ERROR, logger="django_flashcall"):
        assert failure(ucaller.send, PHONE) == ("rejected", True, True)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ([f"uCaller refused the request's form: uCaller {code}: no"] if logged else [])


def test_ucaller_status_that_is_not_json_is_a_bad_response(ucaller, canned):
    canned.answer(200, body="<html></html>")
    assert failure(ucaller.get_status, "7")[0] == "bad_response"


# --------------------------------------------------------------------------- telefon-ip


def test_telefonip_a_url_without_its_last_slash(canned):
    canned.answer(json={"success": True, "data": {"balance": "12.5"}})
    provider = TelefonIPProvider(url=canned.url.rstrip("/"), token="tok")
    assert str(provider.get_balance().balance) == "12.5"
    assert canned.requests == [("GET", "/api/v1/authcalls/tok/get_balance/")]


def test_telefonip_a_code_as_a_number_keeps_its_leading_zeros(canned):
    canned.answer(json={"success": True, "data": {"code": 42, "id": 9}})
    result = TelefonIPProvider().send(PHONE)
    assert (result.code, result.provider_id) == ("0042", "9")


def test_telefonip_a_code_with_an_odd_success_status_is_ambiguous(canned):
    # Not the documented 200: the call may have been placed and billed.
    canned.answer(202, json={"success": True, "data": {"code": "1234", "id": 9}})
    with pytest.raises(ProviderError) as info:
        TelefonIPProvider().send(PHONE)
    assert (info.value.reason, info.value.no_call) == ("bad_response", False)
    assert "HTTP 202" in info.value.message


@pytest.mark.parametrize("status", [403, 404, 429])
@pytest.mark.parametrize("body", ["<html>Not here</html>", '{"success": false}'])
def test_telefonip_a_refused_call_request_placed_no_call(canned, status, body):
    """A 4xx other than the documented 400 and 401 (a proxy's page, a rate
    limit in front of the API): nothing was dialled, so failover may go on
    and the attempt does not count against the limits."""
    canned.answer(status, body=body)
    assert failure(TelefonIPProvider().send, PHONE) == ("rejected", True, True)


def test_telefonip_balance_error_status_is_a_refusal(canned):
    canned.answer(404, body="")
    with pytest.raises(ProviderError) as info:
        TelefonIPProvider().get_balance()
    assert (info.value.reason, info.value.message) == ("rejected", "get_balance HTTP 404: ")
