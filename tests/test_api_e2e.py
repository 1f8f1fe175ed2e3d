"""End to end: the JSON API, the real telefon-ip client and the fake telefon-ip
server over real HTTP; then over a live Django server too. And the query
budgets of the full view stack in session mode."""

import os

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from django_flashcall.internal.codes import hash_code
from django_flashcall.models import CallAttempt, PhoneNumber

REQUEST = "/api/flashcall/request/"
CONFIRM = "/api/flashcall/confirm/"
PHONE = "79244501003"

# Measured (test_query_budgets has the SQL); lower them when the views get leaner.
REQUEST_QUERIES = 3
CONFIRM_EXISTING_USER_QUERIES = 14
CONFIRM_NEW_USER_QUERIES = 18


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


# --------------------------------------------------------------------------- test client + fake


@pytest.mark.django_db
def test_request_then_confirm_through_the_fake_telefonip(client, fake_telefonip, django_user_model):
    session = client.session
    session["visited"] = True
    session.save()
    anonymous_key = session.session_key

    response = post(client, REQUEST, {"phone": "+7 (924) 450-10-03"})

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == PHONE
    (sent,) = fake_telefonip.requests
    assert (sent.method, sent.action, sent.phone) == ("GET", "get_code", "89244501003")
    assert sent.token == fake_telefonip.token
    assert sent.path == f"/api/v1/authcalls/{fake_telefonip.token}/get_code/89244501003/"
    code = fake_telefonip.last_code(PHONE)
    attempt = CallAttempt.objects.get()
    assert attempt.provider_id == str(fake_telefonip.last_call(PHONE).id)
    # Stored as a keyed hash only.
    assert attempt.code_hash == hash_code(attempt.public_id, code) != code

    response = post(client, CONFIRM, {"phone": "89244501003", "code": code})

    assert response.status_code == 200, response.content
    user = django_user_model.objects.get()
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": user.pk}
    assert int(client.session[SESSION_KEY]) == user.pk
    assert client.session.session_key != anonymous_key
    assert PhoneNumber.objects.get().user == user
    # The next request of the same client is authenticated.
    assert client.get(REQUEST).wsgi_request.user == user
    # One paid call in all.
    assert len(fake_telefonip.requests) == 1


# --------------------------------------------------------------------------- live server


@pytest.mark.django_db(transaction=True)
def test_login_over_a_live_server(live_server, fake_telefonip, django_user_model):
    staff = django_user_model.objects.create_user("staff", is_staff=True, is_superuser=True)
    PhoneNumber.objects.create(user=staff, phone=PHONE)
    browser = requests.Session()
    url = live_server.url

    assert browser.get(url + "/admin/", allow_redirects=False).status_code == 302

    response = browser.post(url + REQUEST, json={"phone": "8 924 450-10-03"}, timeout=10)
    assert response.status_code == 201, response.text
    assert fake_telefonip.requests_for("get_code")[0].phone == "89244501003"
    csrf = browser.cookies["csrftoken"]
    code = fake_telefonip.last_code(PHONE)

    # Login CSRF is enforced for real: no header, no login.
    response = browser.post(url + CONFIRM, json={"phone": PHONE, "code": code}, timeout=10)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"

    response = browser.post(
        url + CONFIRM,
        json={"phone": PHONE, "code": code},
        headers={"X-CSRFToken": csrf},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": staff.pk}
    session_key = browser.cookies["sessionid"]
    assert int(SessionStore(session_key)[SESSION_KEY]) == staff.pk
    # A page that needs a login now opens.
    assert browser.get(url + "/admin/", allow_redirects=False).status_code == 200


# --------------------------------------------------------------------------- query budgets


@pytest.mark.django_db
def test_query_budgets(
    client, flashcall_outbox, django_user_model, settings, django_assert_max_num_queries
):
    """Queries of the whole view stack (middleware, session, DRF, service) in
    session mode, for an anonymous client. Inside the test transaction every
    ``atomic()`` adds a SAVEPOINT and a RELEASE (counted here; in production
    they are BEGIN/COMMIT). ``FLASHCALL_QUERY_DUMP=<file>`` writes the SQL out."""
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    owner = django_user_model.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    statements = {}

    with django_assert_max_num_queries(REQUEST_QUERIES) as captured:
        response = post(client, REQUEST, {"phone": PHONE})
    # A copy: Django clears connection.queries when the next request starts.
    statements["request"] = [q["sql"] for q in captured.captured_queries]
    assert response.status_code == 201
    code, held = flashcall_outbox[-1].code, response.json()["attempt_id"]

    with django_assert_max_num_queries(CONFIRM_EXISTING_USER_QUERIES) as captured:
        response = post(client, CONFIRM, {"attempt_id": held, "code": code})
    statements["confirm, existing user"] = [q["sql"] for q in captured.captured_queries]
    assert response.json()["user_id"] == owner.pk

    client.logout()
    other = "79244501004"
    response = post(client, REQUEST, {"phone": other})
    assert response.status_code == 201
    code, held = flashcall_outbox[-1].code, response.json()["attempt_id"]
    with django_assert_max_num_queries(CONFIRM_NEW_USER_QUERIES) as captured:
        response = post(client, CONFIRM, {"attempt_id": held, "code": code})
    statements["confirm, new user"] = [q["sql"] for q in captured.captured_queries]
    assert response.json()["user_id"] == django_user_model.objects.get(username=other).pk

    dump = os.environ.get("FLASHCALL_QUERY_DUMP")
    if dump:
        with open(dump, "w") as out:
            for name, sql in statements.items():
                out.write(f"== {name}: {len(sql)} queries\n")
                out.writelines(f"{n}. {statement}\n" for n, statement in enumerate(sql, 1))
