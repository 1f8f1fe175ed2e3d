"""The HTML login pages (SPEC §7): django_flashcall/{urls,views,forms}.py and
the templates, driven with Django's test client and the SandboxProvider."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from django_flashcall import services
from django_flashcall.conf import flashcall_settings
from django_flashcall.exceptions import (
    LIMIT_DETAILS,
    CodeExpired,
    InvalidCode,
    InvalidPhone,
    NoActiveAttempt,
    PhoneTaken,
    ProviderUnavailable,
    TooManyAttempts,
)
from django_flashcall.models import CallAttempt, PhoneNumber, Status
from django_flashcall.phone import pretty
from django_flashcall.views import SESSION_KEY, wait_clock

from .helpers import install_clock, scrub, use_failing, wrong

pytestmark = pytest.mark.django_db

PHONE = "+7 (912) 345-67-89"
STORED = "79123456789"
LOGIN = "/accounts/phone/"
CONFIRM = "/accounts/phone/confirm/"


def text(response) -> str:
    return response.content.decode()


def detail(error_class) -> str:
    """The HTML-escaped ``detail`` of an error, as the page shows it."""
    return escape(str(error_class.default_detail))


def ask(client, phone: str = PHONE, **extra):
    return client.post(LOGIN, {"phone": phone, **extra})


def enter(client, code: str, **extra):
    return client.post(CONFIRM, {"code": code, **extra})


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


# --------------------------------------------------------------------------- the flow


def test_urls_are_namespaced():
    assert reverse("flashcall:login") == LOGIN
    assert reverse("flashcall:confirm") == CONFIRM


def test_full_flow_logs_in_and_redirects_to_next(client, flashcall_outbox):
    page = client.get(LOGIN + "?next=/after/")
    assert page.status_code == 200
    assert 'name="phone"' in text(page)
    assert 'name="next" value="/after/"' in text(page)

    response = ask(client, next="/after/")
    assert response.status_code == 302
    assert response["Location"] == CONFIRM + "?next=%2Fafter%2F"
    assert len(flashcall_outbox) == 1
    call = flashcall_outbox[0]
    assert call.phone == STORED

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "+7 912 345-67-89" in text(page)
    assert 'name="code"' in text(page)
    assert 'name="next" value="/after/"' in text(page)
    assert logged_in_user_id(client) is None

    response = enter(client, call.code, next="/after/")
    assert response.status_code == 302
    assert response["Location"] == "/after/"
    user = get_user_model().objects.get(pk=logged_in_user_id(client))
    assert PhoneNumber.objects.get(phone=STORED).user == user
    assert client.session["_auth_user_backend"] == "django_flashcall.auth_backends.FlashCallBackend"
    assert SESSION_KEY not in client.session
    assert CallAttempt.objects.get().status == Status.VERIFIED


def test_without_next_goes_to_login_redirect_url(client, flashcall_outbox, settings):
    settings.LOGIN_REDIRECT_URL = "/welcome/"
    response = ask(client)
    assert response["Location"] == CONFIRM
    response = enter(client, flashcall_outbox[-1].code)
    assert response["Location"] == "/welcome/"


def test_session_login_even_in_token_mode(client, flashcall_outbox, settings):
    settings.FLASHCALL_LOGIN = "token"
    ask(client)
    enter(client, flashcall_outbox[-1].code)
    assert logged_in_user_id(client) is not None


def test_existing_user_logs_into_own_account(client, flashcall_outbox):
    owner = get_user_model().objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=STORED)
    ask(client)
    enter(client, flashcall_outbox[-1].code)
    assert str(logged_in_user_id(client)) == str(owner.pk)
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/path",
        "http://evil.example/",
        "javascript:alert(1)",
        "https://testserver.evil.example/",
    ],
)
def test_unsafe_next_is_rejected(client, flashcall_outbox, unsafe):
    page = client.get(LOGIN, {"next": unsafe})
    assert "evil.example" not in text(page)
    assert "javascript:" not in text(page)
    response = ask(client, next=unsafe)
    assert response["Location"] == CONFIRM  # not carried on
    response = enter(client, flashcall_outbox[-1].code, next=unsafe)
    assert response.status_code == 302
    assert response["Location"] == "/"  # LOGIN_REDIRECT_URL


def test_absolute_next_on_the_same_host_is_kept(client, flashcall_outbox):
    ask(client)
    response = enter(client, flashcall_outbox[-1].code, next="http://testserver/inside/")
    assert response["Location"] == "http://testserver/inside/"


def test_confirm_without_a_pending_attempt_redirects_to_login(client):
    response = client.get(CONFIRM)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    response = client.get(CONFIRM, {"next": "/after/"})
    assert response["Location"] == LOGIN + "?next=%2Fafter%2F"
    response = enter(client, "1234")
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_confirm_with_garbage_in_the_session_redirects_to_login(client):
    session = client.session
    session[SESSION_KEY] = "not a dict"
    session.save()
    assert client.get(CONFIRM)["Location"] == LOGIN


def test_login_page_links_back_to_a_pending_code(client, flashcall_outbox):
    ask(client)
    page = client.get(LOGIN)
    assert 'href="/accounts/phone/confirm/"' in text(page)
    assert "+7 912 345-67-89" in text(page)


# --------------------------------------------------------------------------- errors


def test_invalid_phone_is_shown_on_the_field(client, flashcall_outbox):
    response = ask(client, "12345")
    assert response.status_code == 200
    body = text(response)
    assert detail(InvalidPhone) in body
    assert 'id="id_phone_error"' in body
    assert 'aria-invalid="true"' in body
    # The error replaces the hint, which said nearly the same thing.
    assert 'aria-describedby="id_phone_error"' in body
    assert 'id="id_phone_helptext"' not in body
    assert body.count("+7 912 345-67-89.") == 1
    assert flashcall_outbox == []
    assert SESSION_KEY not in client.session


def test_empty_phone_is_required(client, flashcall_outbox):
    response = ask(client, "")
    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert flashcall_outbox == []


def test_wrong_code_shows_attempts_left_then_too_many(client, flashcall_outbox):
    ask(client)
    code = flashcall_outbox[-1].code
    response = enter(client, wrong(code))
    assert response.status_code == 200
    body = text(response)
    assert detail(InvalidCode) in body
    assert "2 attempts left." in body
    assert 'id="id_code_error"' in body
    assert 'aria-describedby="id_code_error"' in body
    # The wrong code is not put back into the field (the next 4 digits auto-submit).
    field = re.search(r'<input[^>]*name="code"[^>]*>', body).group(0)
    assert "value=" not in field and wrong(code) not in scrub(body)
    assert "1 attempt left." in text(enter(client, wrong(code)))
    assert "0 attempts left." in text(enter(client, wrong(code)))
    body = text(enter(client, code))  # the attempt is dead: even the right code
    assert detail(TooManyAttempts) in body
    assert logged_in_user_id(client) is None


def test_malformed_code_costs_no_attempt(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_CONFIRM = "1/h"
    ask(client)
    for typo in ("12a4", "123", "12345"):
        body = text(enter(client, typo))
        # Said in words by the page (no browser "Please match the requested format.")...
        assert "Type the 4 digits: the last 4 digits of the calling number." in body
        assert 'id="id_code_error"' in body
    assert CallAttempt.objects.get().checks_used == 0
    # ...and free: not one of them used the IP's single confirm.
    code = flashcall_outbox[-1].code
    assert enter(client, code).status_code == 302


def test_expired_code(client, flashcall_outbox, monkeypatch):
    clock = install_clock(monkeypatch)
    ask(client)
    clock.advance(flashcall_settings.CODE_TTL)
    body = text(enter(client, flashcall_outbox[-1].code))
    assert detail(CodeExpired) in body
    assert logged_in_user_id(client) is None


def test_no_active_attempt_when_used_elsewhere(client, flashcall_outbox):
    ask(client)
    services.confirm_code(STORED, flashcall_outbox[-1].code)  # e.g. through the API
    body = text(enter(client, flashcall_outbox[-1].code))
    assert detail(NoActiveAttempt) in body
    assert logged_in_user_id(client) is None


def test_rate_limited_shows_the_countdown(client, flashcall_outbox, monkeypatch):
    clock = install_clock(monkeypatch)
    ask(client)
    clock.advance(3)
    other = Client()  # another browser, same phone: the cooldown is per phone
    response = ask(other)
    assert response.status_code == 200
    body = text(response)
    assert escape(str(LIMIT_DETAILS["cooldown"])) in body
    assert "You can ask for another call in" in body
    assert 'data-countdown="57"' in body
    assert ">0:57<" in body
    assert 'role="alert"' in body
    assert 'aria-describedby="id_phone_helptext fc-errors"' in body
    # Another browser has no code page for this call to link to.
    assert 'id="fc-code-link"' not in body
    assert len(flashcall_outbox) == 1


def test_ip_rate_limit_applies_to_the_pages(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    assert ask(client, "+79120000001").status_code == 302
    assert ask(client, "+79120000002").status_code == 302
    response = ask(client, "+79120000003")
    assert response.status_code == 200
    body = text(response)
    assert escape(str(LIMIT_DETAILS["ip"])) in body
    assert "data-countdown=" in body
    # What to do: the call already placed needs no other one.
    assert "If a call has already reached you, you do not need another one:" in body
    assert re.search(r'id="fc-code-link">\s*Enter the code of the call to \+7 912 000-00-02', body)
    assert len(flashcall_outbox) == 2


def test_ip_rate_limit_on_confirm(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_CONFIRM = "1/h"
    ask(client)
    enter(client, wrong(flashcall_outbox[-1].code))
    body = text(enter(client, flashcall_outbox[-1].code))
    assert escape(str(LIMIT_DETAILS["ip"])) in body
    assert logged_in_user_id(client) is None


def test_provider_unavailable(client, settings):
    failing = use_failing(settings)
    response = ask(client)
    assert response.status_code == 200
    assert detail(ProviderUnavailable) in text(response)
    assert failing.calls == [STORED]
    assert SESSION_KEY not in client.session


def test_phone_taken_for_a_logged_in_user(client, flashcall_outbox):
    User = get_user_model()
    owner = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=STORED)
    me = User.objects.create_user("me")
    client.force_login(me)
    ask(client)
    body = text(enter(client, flashcall_outbox[-1].code))
    assert detail(PhoneTaken) in body
    assert PhoneNumber.objects.get(phone=STORED).user == owner
    assert str(logged_in_user_id(client)) == str(me.pk)


def test_inactive_owner_cannot_log_in(client, flashcall_outbox):
    owner = get_user_model().objects.create_user("owner", is_active=False)
    PhoneNumber.objects.create(user=owner, phone=STORED)
    ask(client)
    response = enter(client, flashcall_outbox[-1].code)
    assert response.status_code == 200
    assert "no active account uses it" in text(response)
    assert logged_in_user_id(client) is None


# --------------------------------------------------------------------------- logged in


def test_logged_in_user_verifies_and_attaches_a_phone(client, flashcall_outbox):
    me = get_user_model().objects.create_user("me")
    client.force_login(me)
    page = client.get(LOGIN)
    assert "Verify your phone number" in text(page)
    ask(client)
    assert "Verify</button>" in text(client.get(CONFIRM))
    response = enter(client, flashcall_outbox[-1].code, next="/account/")
    assert response["Location"] == "/account/"
    assert PhoneNumber.objects.get(phone=STORED).user == me
    assert str(logged_in_user_id(client)) == str(me.pk)
    assert get_user_model().objects.count() == 1


# --------------------------------------------------------------------------- call me again


def test_call_me_again_respects_the_cooldown(client, flashcall_outbox, monkeypatch):
    clock = install_clock(monkeypatch)
    ask(client)
    first = flashcall_outbox[-1]
    page = text(client.get(CONFIRM))
    assert re.search(r'<button[^>]*id="fc-resend"[^>]*disabled data-wait="60"', page)
    assert 'data-countdown="60"' in page

    clock.advance(20)
    response = client.post(CONFIRM, {"action": "resend"})
    assert response.status_code == 200
    body = text(response)
    assert escape(str(LIMIT_DETAILS["cooldown"])) in body
    assert 'data-countdown="40"' in body
    assert re.search(r'<button[^>]*id="fc-resend"[^>]*disabled data-wait="40"', body)
    assert len(flashcall_outbox) == 1

    clock.advance(40)
    page = text(client.get(CONFIRM))
    assert re.search(r'<button[^>]*id="fc-resend"[^>]*>', page)
    assert "data-wait" not in page
    response = client.post(CONFIRM, {"action": "resend", "next": "/after/"})
    assert response.status_code == 302
    assert response["Location"] == CONFIRM + "?next=%2Fafter%2F"
    assert len(flashcall_outbox) == 2
    second = flashcall_outbox[-1]
    assert "We are calling you again." in text(client.get(CONFIRM))

    # The new call supersedes the old one, and the page says so.
    if first.code != second.code:
        body = text(enter(client, first.code))
        assert escape(str(InvalidCode.replaced_detail)) + " 2 attempts left." in body
        assert escape(str(InvalidCode.default_detail)) not in body
    response = enter(client, second.code, next="/after/")
    assert response["Location"] == "/after/"
    assert logged_in_user_id(client) is not None


def test_call_me_again_after_a_dead_attempt(client, flashcall_outbox, monkeypatch):
    clock = install_clock(monkeypatch)
    ask(client)
    for _ in range(3):
        enter(client, wrong(flashcall_outbox[-1].code))
    clock.advance(61)
    client.post(CONFIRM, {"action": "resend"})
    assert len(flashcall_outbox) == 2
    enter(client, flashcall_outbox[-1].code)
    assert logged_in_user_id(client) is not None


def test_sms_fallback_checkbox(client, flashcall_outbox, settings, monkeypatch):
    assert "sms_fallback" not in text(client.get(LOGIN))
    settings.FLASHCALL_SMS_FALLBACK = True
    page = text(client.get(LOGIN))
    assert re.search(r'<input type="checkbox" name="sms_fallback"[^>]*checked', page)
    ask(client, sms_fallback="on")
    assert flashcall_outbox[-1].sms_fallback is True
    page = text(client.get(CONFIRM))
    assert 'name="resend-sms_fallback"' in page
    assert 'id="fc-sms-hint"' in page  # the code may come by SMS instead

    clock = install_clock(monkeypatch)
    clock.advance(61)
    client.post(CONFIRM, {"action": "resend"})  # the box unticked
    assert len(flashcall_outbox) == 2
    assert flashcall_outbox[-1].sms_fallback is False
    assert 'id="fc-sms-hint"' not in text(client.get(CONFIRM))


# --------------------------------------------------------------------------- markup


def test_forms_carry_csrf_tokens_and_csrf_is_enforced(flashcall_outbox):
    client = Client(enforce_csrf_checks=True)
    page = text(client.get(LOGIN))
    assert page.count('name="csrfmiddlewaretoken"') == 1
    assert client.post(LOGIN, {"phone": PHONE}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(LOGIN, {"phone": PHONE, "csrfmiddlewaretoken": token})
    assert response.status_code == 302

    page = text(client.get(CONFIRM))
    assert page.count('name="csrfmiddlewaretoken"') == 2  # the code form and "call me again"
    code = flashcall_outbox[-1].code
    assert client.post(CONFIRM, {"code": code}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(CONFIRM, {"code": code, "csrfmiddlewaretoken": token}).status_code == 302


def test_login_page_markup(client):
    response = client.get(LOGIN)
    body = text(response)
    names = [t.name for t in response.templates]
    assert "django_flashcall/login.html" in names
    assert "django_flashcall/base.html" in names
    assert '<meta name="viewport"' in body
    assert '<html lang="en">' in body
    assert '<label for="id_phone">' in body
    assert re.search(r'<input type="tel" name="phone"[^>]*autofocus', body)
    assert 'autocomplete="tel"' in body
    assert 'aria-describedby="id_phone_helptext"' in body
    assert 'id="id_phone_helptext"' in body
    assert 'method="post"' in body


def test_confirm_page_markup(client, flashcall_outbox):
    ask(client)
    response = client.get(CONFIRM)
    body = text(response)
    assert "django_flashcall/confirm.html" in [t.name for t in response.templates]
    field = re.search(r'<input[^>]*name="code"[^>]*>', body).group(0)
    for attr in (
        'autocomplete="one-time-code"',
        'inputmode="numeric"',
        'maxlength="4"',
        "autofocus",
        'data-autosubmit="4"',
        'aria-describedby="id_code_helptext"',
    ):
        assert attr in field
    # No "pattern": the browser would say "Please match the requested format."
    assert "pattern" not in field
    assert '<label for="id_code">' in body
    assert "/static/django_flashcall/flashcall.js" in body
    assert "Call me again" in body
    assert "Use another phone number" in body
    assert "last 4 digits of the calling number" in body


def test_sandbox_hint_block_is_empty_in_the_app(client, flashcall_outbox):
    """The app never shows the code; the example site overrides the block."""
    ask(client)
    body = text(client.get(CONFIRM))
    caller = flashcall_outbox[-1].caller
    assert caller not in body
    assert pretty(caller) not in body


def test_the_javascript_ships_as_a_static_file():
    path = finders.find("django_flashcall/flashcall.js")
    assert path
    source = open(path, encoding="utf-8").read()
    assert "data-autosubmit" in source and "data-countdown" in source


def test_wait_clock():
    assert wait_clock(0) == "0:00"
    assert wait_clock(57) == "0:57"
    assert wait_clock(60) == "1:00"
    assert wait_clock(3725) == "1:02:05"


# --------------------------------------------------------------------------- queries


def test_query_counts(client, flashcall_outbox, django_assert_max_num_queries):
    client.get(LOGIN)
    with django_assert_max_num_queries(7):
        response = ask(client)
    assert response.status_code == 302
    client.get(CONFIRM)
    with django_assert_max_num_queries(22):
        response = enter(client, flashcall_outbox[-1].code)
    assert response.status_code == 302


def test_query_counts_for_a_known_user(client, flashcall_outbox, django_assert_max_num_queries):
    owner = get_user_model().objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=STORED)
    ask(client)
    with django_assert_max_num_queries(17):
        response = enter(client, flashcall_outbox[-1].code)
    assert response.status_code == 302


# --------------------------------------------------------------------- what a first hour trips over


def test_typos_and_empty_forms_do_not_count_against_the_ip_rate(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    for junk in ["", "12345", "+1 202 555-0100", "hello"] * 4:
        assert ask(client, junk).status_code == 200
    assert CallAttempt.objects.count() == 0  # not even a refused row
    assert ask(client, "+79120000001").status_code == 302
    assert ask(client, "+79120000002").status_code == 302
    assert escape(str(LIMIT_DETAILS["ip"])) in text(ask(client, "+79120000003"))


def test_call_me_again_too_early_costs_no_ip_budget(
    client, flashcall_outbox, settings, monkeypatch
):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    clock = install_clock(monkeypatch)
    ask(client)
    for _ in range(5):  # a stale page, double clicks
        body = text(client.post(CONFIRM, {"action": "resend"}))
        assert escape(str(LIMIT_DETAILS["cooldown"])) in body
    assert CallAttempt.objects.count() == 1
    clock.advance(flashcall_settings.RESEND_COOLDOWN)
    # The second real call still fits in the IP's 2/h.
    assert client.post(CONFIRM, {"action": "resend"}).status_code == 302
    assert len(flashcall_outbox) == 2


def test_same_phone_in_a_new_tab_points_back_to_the_waiting_code(
    client, flashcall_outbox, settings, monkeypatch
):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    clock = install_clock(monkeypatch)
    ask(client, next="/after/")
    clock.advance(4)
    response = ask(client, "8 912 345 67 89", next="/after/")  # another spelling, same phone
    assert response.status_code == 200
    body = text(response)
    assert escape(str(LIMIT_DETAILS["cooldown"])) in body
    assert "Too many" not in body
    link = re.search(
        r'<a href="([^"]+)" id="fc-code-link">\s*Enter the code of the call to ([^<]+)<', body
    )
    assert link and link.group(1) == CONFIRM + "?next=/after/"
    assert link.group(2).strip() == "+7 912 345-67-89"
    assert 'data-countdown="56"' in body
    # Answered from the session: no refused row, and the IP's 1/h is not used
    # up (another phone still gets its call once the first one is done).
    assert CallAttempt.objects.count() == 1 and len(flashcall_outbox) == 1
    assert client.get(CONFIRM).status_code == 200


def test_ip_lockout_tells_a_developer_what_to_do_in_debug(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    settings.DEBUG = True
    ask(client, "+79120000001")
    body = text(Client().post(LOGIN, {"phone": "+79120000002"}))  # same IP, no pending call
    assert 'FLASHCALL_RATELIMIT_REQUEST = "1/h" per IP address' in body
    assert 'id="fc-code-link"' not in body
    settings.DEBUG = False
    assert "FLASHCALL_RATELIMIT_REQUEST" not in text(
        Client().post(LOGIN, {"phone": "+79120000002"})
    )


@pytest.mark.parametrize(
    ("reason", "seconds"),
    [("phone_daily_limit", 3), ("phone_locked", 10), ("daily_budget", None)],
)
def test_each_limit_has_its_own_words(
    client, flashcall_outbox, settings, monkeypatch, reason, seconds
):
    clock = install_clock(monkeypatch)
    settings.FLASHCALL_MAX_CHECKS = 10
    if reason == "phone_daily_limit":
        settings.FLASHCALL_PHONE_DAILY_LIMIT = 1
    elif reason == "daily_budget":
        settings.FLASHCALL_DAILY_BUDGET = 1
    ask(client)
    if reason == "phone_locked":
        for _ in range(flashcall_settings.PHONE_MAX_FAILURES):
            enter(client, wrong(flashcall_outbox[-1].code))
    clock.advance(flashcall_settings.RESEND_COOLDOWN)
    phone = PHONE if reason != "daily_budget" else "+79120000009"
    body = text(Client().post(LOGIN, {"phone": phone}))
    assert escape(str(LIMIT_DETAILS[reason])) in body
    others = [str(v) for k, v in LIMIT_DETAILS.items() if k != reason]
    assert not any(escape(o) in body for o in others)
    assert "You can try again in" in body


def test_logged_in_user_with_a_phone_sees_who_is_logged_in(client, flashcall_outbox):
    user = get_user_model().objects.create_user("someone")
    client.force_login(user)
    body = text(client.get(LOGIN))
    assert "Verify your phone number" in body  # no phone yet
    PhoneNumber.objects.create(user=user, phone=STORED)
    body = text(client.get(LOGIN))
    assert "<title>You are logged in</title>" in body
    assert "Your phone number +7 912 345-67-89 is verified." in body
    assert "Verify another phone number" in body
    assert "Verify your phone number" not in body
