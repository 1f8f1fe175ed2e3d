"""The allauth adapter as allauth's other callers use it: a social login that
brings its provider's phone, a lookup of a number this app cannot call, a
verification with no call behind it, a call asked for outside a request
(SPEC §9). The site's real adapter, under allauth's request context."""

from __future__ import annotations

import pytest

pytest.importorskip("allauth")

from allauth.account.adapter import get_adapter  # noqa: E402
from allauth.core.context import request_context  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.messages.storage.fallback import FallbackStorage  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from django_flashcall.contrib.allauth.refusals import CallRefused  # noqa: E402
from django_flashcall.exceptions import NoActiveAttempt, PhoneTaken  # noqa: E402
from django_flashcall.models import CallAttempt, PhoneNumber, Status  # noqa: E402
from tests.helpers import PHONE  # noqa: E402

pytestmark = pytest.mark.django_db

OTHER = "79161234567"


def make_user(name: str, phone: str | None = None):
    user = get_user_model().objects.create_user(username=name, password=None)
    if phone:
        PhoneNumber.objects.create(user=user, phone=phone)
    return user


@pytest.fixture
def page_request():
    request = RequestFactory().post("/accounts/3rdparty/signup/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    with request_context(request):
        yield request


def test_a_social_login_with_a_verified_phone_keeps_it_without_a_call(page_request, outbox):
    user = make_user("sam", OTHER)
    adapter = get_adapter()
    # allauth's socialaccount: the provider vouches for the phone (SocialLogin.save).
    adapter.set_phone(user, "+7 924 450-10-03", True)
    assert outbox == [] and not CallAttempt.objects.exists()
    # One phone per allauth account: the provider's replaces the old one.
    assert list(PhoneNumber.objects.values_list("user_id", "phone")) == [(user.pk, PHONE)]
    assert adapter.get_phone(user) == ("+" + PHONE, True)


def test_a_social_login_with_another_accounts_phone_is_refused(page_request, outbox):
    owner = make_user("olga", PHONE)
    newcomer = make_user("nick")
    with pytest.raises(CallRefused) as refused:
        get_adapter().set_phone(newcomer, "+79244501003", True)
    assert isinstance(refused.value.error, PhoneTaken)
    # The middleware's answer: back to the page, with the reason.
    response = refused.value.response
    assert (response.status_code, response["Location"]) == (302, page_request.get_full_path())
    assert [str(m) for m in page_request._messages] == [str(PhoneTaken.default_detail)]
    assert list(PhoneNumber.objects.values_list("user_id", "phone")) == [(owner.pk, PHONE)]


def test_a_number_this_app_cannot_call_belongs_to_nobody(page_request):
    owner = make_user("olga", PHONE)
    adapter = get_adapter()
    # A social provider may hand over any number: not a Russian mobile, no user.
    assert adapter.get_user_by_phone("+1 415 555 0100") is None
    assert adapter.get_user_by_phone("8 (924) 450-10-03") == owner


def test_a_verification_with_no_call_to_that_phone_is_refused(page_request, outbox):
    user = make_user("vic")
    adapter = get_adapter()
    adapter.generate_phone_verification_code(user=user, phone="+79244501003")
    assert [call.phone for call in outbox] == [PHONE]
    # Whatever allauth believes, this session's call went to another number.
    with pytest.raises(CallRefused) as refused:
        adapter.set_phone_verified(user, "+" + OTHER)
    assert isinstance(refused.value.error, NoActiveAttempt)
    assert not PhoneNumber.objects.exists()
    assert CallAttempt.objects.get().status == Status.PENDING


def test_a_call_asked_for_outside_a_request_is_an_error_not_a_call(outbox):
    user = make_user("ray")
    adapter = get_adapter()  # no allauth view running: no request, no session
    with pytest.raises(RuntimeError, match="needs allauth's current request"):
        adapter.generate_phone_verification_code(user=user, phone="+79244501003")
    assert outbox == [] and not CallAttempt.objects.exists()
