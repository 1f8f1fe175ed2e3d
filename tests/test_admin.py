"""admin.py: the call log, the actions, the monitoring page, phones and users."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from django_flashcall import admin as flashcall_admin
from django_flashcall import services
from django_flashcall.exceptions import InvalidCode, RateLimited, TooManyAttempts
from django_flashcall.internal.clock import now
from django_flashcall.models import CallAttempt, Channel, PhoneNumber, Reason, Status, called_q
from django_flashcall.monitoring import offender_counts
from django_flashcall.providers import BaseProvider, ProviderResult
from django_flashcall.testing import refused_url
from tests.helpers import owners_attempt, scrub

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
CODE = "8642"  # appears nowhere else on the pages below (no such digits in PHONE)
SENTINEL_TOKEN = "SENTINEL-tok-5f3a9c0e"
CHANGELIST = "/admin/django_flashcall/callattempt/"
MONITOR = CHANGELIST + "monitor/"


class FixedCodeProvider(BaseProvider):
    """Places no call; always the code CODE, so a test can look for it."""

    is_paid = False
    sent = 0

    def send(self, phone, *, sms_fallback=False):
        FixedCodeProvider.sent += 1
        return ProviderResult(code=CODE, provider_id=f"fixed-{FixedCodeProvider.sent}")


@pytest.fixture
def fixed_provider(settings):
    settings.FLASHCALL_PROVIDER = "tests.test_admin.FixedCodeProvider"
    settings.FLASHCALL_API_TOKEN = SENTINEL_TOKEN


@pytest.fixture
def attempt(fixed_provider):
    """A pending attempt with one wrong code."""
    attempt = services.request_code("+7 924 450-10-03")
    with pytest.raises(InvalidCode):
        services.confirm_code(PHONE, "0000")
    attempt.refresh_from_db()
    return attempt


@pytest.fixture
def viewer(client, django_user_model):
    """Staff who may only view attempts: sees masked phones, no actions."""
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_callattempt"))
    client.force_login(user)
    return client


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# -- access ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["changelist", "change", "monitor"])
def test_pages_open_for_staff(admin_client, attempt, url):
    urls = {
        "changelist": CHANGELIST,
        "change": f"{CHANGELIST}{attempt.pk}/change/",
        "monitor": MONITOR,
    }
    assert admin_client.get(urls[url]).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
@pytest.mark.parametrize("url", [CHANGELIST, MONITOR, "/admin/django_flashcall/phonenumber/"])
def test_pages_redirect_others_to_login(client, django_user_model, who, url):
    if who == "not staff":
        client.force_login(django_user_model.objects.create_user("plain", password="x"))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_monitor_needs_view_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("s", password="x", is_staff=True))
    assert client.get(MONITOR).status_code == 403


def test_changelist_links_to_monitoring(admin_client, attempt):
    assert f'href="{MONITOR}"' in html(admin_client.get(CHANGELIST))


# -- secrets --------------------------------------------------------------------


def test_no_code_hash_or_token_in_any_page(admin_client, attempt):
    assert attempt.code_hash and len(attempt.code_hash) == 64
    pages = [
        CHANGELIST,
        f"{CHANGELIST}?status=pending",
        f"{CHANGELIST}?q=%2B79244501003",
        f"{CHANGELIST}{attempt.pk}/change/",
        f"{CHANGELIST}{attempt.pk}/history/",
        MONITOR,
        MONITOR + "?period=30d",
    ]
    for url in pages:
        page = html(admin_client.get(url))
        assert CODE not in scrub(page), url
        assert attempt.code_hash not in page, url
        assert attempt.code_hash[:16] not in page, url
        assert SENTINEL_TOKEN not in page, url
        assert "code_hash" not in page, url


def test_code_hash_cannot_be_probed_by_lookup(admin_client, attempt):
    prefix = attempt.code_hash[:1]
    assert admin_client.get(f"{CHANGELIST}?code_hash__startswith={prefix}").status_code == 400


def test_no_token_on_monitor_with_the_real_client(admin_client, fake_telefonip):
    page = html(admin_client.get(MONITOR))
    assert fake_telefonip.token not in page
    assert fake_telefonip.requests_for("get_balance")  # the balance was asked for


# -- read-only ------------------------------------------------------------------


def test_attempts_cannot_be_added_edited_or_deleted(admin_client, attempt):
    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    change = f"{CHANGELIST}{attempt.pk}/change/"
    page = html(admin_client.get(change))
    assert 'name="_save"' not in page  # the view-only page
    response = admin_client.post(change, {"status": "verified", "checks_used": "0"})
    assert response.status_code == 403
    assert admin_client.post(f"{CHANGELIST}{attempt.pk}/delete/").status_code == 403
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING and attempt.checks_used == 1


# -- phones: masked but for the change permission -------------------------------


def test_list_shows_full_phones_to_who_may_see_them(admin_client, viewer, attempt):
    """The list follows the same rule as the attempt's page and the monitor."""
    nowrap = '<span style="white-space: nowrap">{}</span>'
    page = html(admin_client.get(CHANGELIST))
    assert nowrap.format("+7 924 450-10-03") in page  # a superuser
    page = html(viewer.get(CHANGELIST))
    assert nowrap.format("+7 ••• •••-••-03") in page  # never wrapped at a hyphen
    assert "450-10" not in page and PHONE not in page


def test_list_fits_a_laptop_screen(admin_client, attempt):
    """Six columns: status and reason share one, delivery and price another."""
    CallAttempt.objects.filter(pk=attempt.pk).update(
        status=Status.REFUSED, reason=Reason.COOLDOWN, delivery_status=True, price=Decimal("0.2")
    )
    response = admin_client.get(CHANGELIST)
    assert response.context["cl"].list_display == [
        "action_checkbox", "phone_column", "status_column", "checks_used",
        "delivery_column", "ip", "created_column",
    ]  # fmt: skip
    page = html(response)
    assert "refused<br><small" in page and "resend cooldown</small>" in page
    assert "✓ " + '<span style="white-space: nowrap">0.20\u00a0₽</span>' in page


def test_change_page_full_phone_with_permission(admin_client, attempt):
    assert "+7 924 450-10-03" in html(admin_client.get(f"{CHANGELIST}{attempt.pk}/change/"))


def test_change_page_masked_without_permission(viewer, attempt, django_user_model):
    owner = django_user_model.objects.create_user(PHONE)  # flash-call users are named so
    CallAttempt.objects.filter(pk=attempt.pk).update(user=owner)
    page = html(viewer.get(f"{CHANGELIST}{attempt.pk}/change/"))
    assert "+7\u00a0•••\u00a0•••-••-03" in page
    assert PHONE not in page and "450-10" not in page
    assert f"#{owner.pk}" in page
    # Not even the operator code, in the title, breadcrumbs or history.
    history = html(viewer.get(f"{CHANGELIST}{attempt.pk}/history/"))
    assert "7924" not in page and "7924" not in history


def test_viewer_has_no_actions_and_no_phone_prefix_probing(viewer, attempt):
    page = html(viewer.get(CHANGELIST))
    assert "expire_selected" not in page and "unlock_phones" not in page
    assert viewer.get(f"{CHANGELIST}?phone__startswith=7924").status_code == 400


# -- search ---------------------------------------------------------------------


def search(client, term):
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return {a.pk for a in response.context["cl"].result_list}


def test_search_any_spelling_of_a_phone(admin_client):
    mine = CallAttempt.objects.create(phone=PHONE, status=Status.VERIFIED)
    CallAttempt.objects.create(phone="79244501004", status=Status.VERIFIED)
    for term in ["+7 (924) 450-10-03", "89244501003", "9244501003", " 7 924 450 10 03 "]:
        assert search(admin_client, term) == {mine.pk}, term


def test_search_ip_attempt_id_and_provider_id(admin_client):
    a = CallAttempt.objects.create(
        phone=PHONE, status=Status.PENDING, ip="203.0.113.7", provider_id="168"
    )
    CallAttempt.objects.create(phone=PHONE, status=Status.PENDING, ip="203.0.113.8")
    assert search(admin_client, "203.0.113.7") == {a.pk}
    assert search(admin_client, str(a.public_id)) == {a.pk}
    assert search(admin_client, "168") == {a.pk}
    assert search(admin_client, "nothing like it") == set()


# -- actions --------------------------------------------------------------------


def run_action(client, action, attempts):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [a.pk for a in attempts]},
        follow=True,
    )


def test_expire_action_logs_each_attempt(admin_client, attempt):
    done = CallAttempt.objects.create(phone=PHONE, status=Status.VERIFIED)
    response = run_action(admin_client, "expire_selected", [attempt, done])
    assert "1 attempt expired." in html(response)
    attempt.refresh_from_db()
    done.refresh_from_db()
    assert attempt.status == Status.EXPIRED
    assert done.status == Status.VERIFIED
    entries = LogEntry.objects.filter(action_flag=CHANGE)
    assert [(e.object_id, e.change_message) for e in entries] == [
        (str(attempt.pk), "Expired by staff.")
    ]
    assert PHONE not in entries[0].object_repr


def test_expire_action_refuses_too_many_at_once(admin_client, monkeypatch):
    monkeypatch.setattr(flashcall_admin.attempts, "ACTION_LIMIT", 3)
    rows = [CallAttempt.objects.create(phone=PHONE, status=Status.PENDING) for _ in range(4)]
    assert "Select at most 3 pending attempts." in html(
        run_action(admin_client, "expire_selected", rows)
    )
    assert CallAttempt.objects.filter(status=Status.PENDING).count() == 4
    assert not LogEntry.objects.exists()
    assert "3 attempts expired." in html(run_action(admin_client, "expire_selected", rows[:3]))


def test_unlock_action_lifts_the_failure_lock(admin_client, settings, fixed_provider):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 10
    settings.FLASHCALL_PHONE_MAX_FAILURES = 4
    first = services.request_code(PHONE)
    for _ in range(3):
        with pytest.raises(InvalidCode):
            services.confirm_code(PHONE, "0000", attempt_id=owners_attempt(PHONE))
    second = services.request_code(PHONE)
    with pytest.raises(InvalidCode):
        services.confirm_code(
            PHONE, "1111", attempt_id=owners_attempt(PHONE)
        )  # the 4th wrong code: locked
    with pytest.raises(TooManyAttempts):
        services.confirm_code(PHONE, CODE, attempt_id=owners_attempt(PHONE))
    with pytest.raises(RateLimited):
        services.request_code(PHONE)

    response = run_action(admin_client, "unlock_phones", [second])
    assert "1 phone unlocked: it can get a new call now." in html(response)

    first.refresh_from_db()
    second.refresh_from_db()
    # The evidence stays on the attempts; a marker row resets the count.
    assert (first.status, first.checks_used) == (Status.EXHAUSTED, 3)
    # The live attempt being guessed at is expired, not handed fresh guesses.
    assert (second.status, second.checks_used) == (Status.EXPIRED, 1)
    marker = CallAttempt.objects.get(status=Status.UNLOCKED)
    assert (marker.phone, marker.checks_used, marker.code_hash) == (PHONE, 0, "")
    assert marker.verified_at is not None and "admin" in marker.error
    messages = list(LogEntry.objects.values_list("object_id", "change_message"))
    assert messages == [
        (
            str(marker.pk),
            "Phone unlocked by staff: 4 wrong codes forgiven, 2 calls no longer count "
            "against its limits; pending attempt expired.",
        )
    ]
    third = services.request_code(PHONE)  # no longer locked
    assert services.confirm_code(PHONE, CODE, attempt_id=owners_attempt(PHONE)).pk == third.pk


def test_unlock_keeps_wrong_codes_before_the_last_success(admin_client, settings, attempt):
    old = CallAttempt.objects.create(
        phone=PHONE, status=Status.EXHAUSTED, checks_used=3, created_at=now() - timedelta(days=2)
    )
    response = run_action(admin_client, "unlock_phones", [attempt])
    assert "1 phone unlocked: it can get a new call now." in html(response)
    old.refresh_from_db()
    assert old.checks_used == 3  # outside the 24 h window: not counted, not touched
    response = run_action(admin_client, "unlock_phones", [attempt])
    assert "Nothing to unlock: no call and no wrong code counts against these phones." in html(
        response
    )
    assert LogEntry.objects.count() == 1


@pytest.mark.parametrize("limit", ["cooldown", "daily"])
def test_unlock_lifts_the_cooldown_and_the_daily_limit(
    admin_client, settings, fixed_provider, limit
):
    """The README's example phone after 3 calls, or a call a minute ago: staff can
    let it have a new call now (0.1 answered "0 phones unlocked")."""
    settings.FLASHCALL_RESEND_COOLDOWN = 60 if limit == "cooldown" else 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 3
    calls = 1 if limit == "cooldown" else 3
    for _ in range(calls):
        last = services.request_code(PHONE)
    with pytest.raises(RateLimited) as refused:
        services.request_code(PHONE)
    assert refused.value.reason == (Reason.COOLDOWN if limit == "cooldown" else Reason.PHONE_DAILY)

    response = run_action(admin_client, "unlock_phones", [last])
    assert "1 phone unlocked: it can get a new call now." in html(response)
    assert LogEntry.objects.get().change_message == (
        f"Phone unlocked by staff: 0 wrong codes forgiven, {calls} calls no longer count "
        "against its limits."
    )
    fresh = services.request_code(PHONE)  # a call at once, in the marker's own second
    assert services.confirm_code(PHONE, CODE).pk == fresh.pk
    # The limits count again from the unlock on: the new call has its cooldown.
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    with pytest.raises(RateLimited):
        services.request_code(PHONE)
    # The site budget still counts every call that was paid for.
    assert CallAttempt.objects.filter(called_q()).count() == calls + 1


def test_fetch_delivery_status_action(admin_client, fake_telefonip):
    a = services.request_code(PHONE)
    b = services.request_code("79244501004")
    fake_telefonip.set_status(int(b.provider_id), delivered=False)
    response = run_action(admin_client, "fetch_delivery_status", [a, b])
    assert "Checked 2: 1 delivered, 1 not delivered." in html(response)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.delivery_status, a.price, a.delivery_info) == (True, Decimal("0.2"), "Ok: SIP 200 OK")
    assert b.delivery_status is False and b.status_checked_at is not None
    assert LogEntry.objects.filter(change_message="Fetched delivery status.").count() == 2


def test_fetch_delivery_status_when_the_provider_fails(admin_client, fake_telefonip):
    a = services.request_code(PHONE)
    fake_telefonip.fault_actions = frozenset({"get_status"})
    fake_telefonip.set_fault("server_error")
    page = html(run_action(admin_client, "fetch_delivery_status", [a]))
    assert "Stopped early: the provider failed" in page
    assert fake_telefonip.token not in page
    a.refresh_from_db()
    assert a.delivery_status is None and not LogEntry.objects.exists()


# -- the monitoring page ----------------------------------------------------------


def test_monitor_shows_the_numbers(admin_client, attempt):
    CallAttempt.objects.create(
        phone=PHONE, status=Status.REFUSED, reason=Reason.COOLDOWN, channel=Channel.NONE
    )
    CallAttempt.objects.create(phone=PHONE, status=Status.FAILED, reason=Reason.TIMEOUT)
    response = admin_client.get(MONITOR)
    page = html(response)
    summary = response.context["summary"]
    assert (summary.requests, summary.placed, summary.refused, summary.failed) == (3, 1, 1, 1)
    assert "Resend cooldown" in page and "Provider timeout" in page
    assert "<svg" in page and "Attempts per hour" in page
    assert "<script" not in page.split('id="content"', 1)[1]  # no JS needed

    # Each number links to the attempts behind it.
    links = response.context["links"]
    refused = admin_client.get(links["refused"]).context["cl"].result_list
    assert [a.status for a in refused] == [Status.REFUSED]
    label, count, url = response.context["refused_rows"][0]
    assert (str(label), count) == ("resend cooldown", 1)
    assert [a.reason for a in admin_client.get(url).context["cl"].result_list] == ["cooldown"]
    assert len(admin_client.get(links["all"]).context["cl"].result_list) == 3


def test_monitor_period_switch(admin_client):
    response = admin_client.get(MONITOR, {"period": "7d"})
    assert response.context["report"].period.key == "7d"
    assert "Attempts per day" in html(response)
    assert admin_client.get(MONITOR, {"period": "bogus"}).context["report"].period.key == "1d"


def test_monitor_top_phones_masked_for_viewers(viewer, admin_client, attempt):
    page = html(viewer.get(MONITOR))
    assert "+7\u00a0•••\u00a0•••-••-03" in page and PHONE not in page
    page = html(admin_client.get(MONITOR))
    assert "+7\u00a0924\u00a0450-10-03" in page and f"?q={PHONE}" in page


def test_monitor_balance_and_low_warning(admin_client, fake_telefonip, settings):
    settings.FLASHCALL_LOW_BALANCE = 1
    page = html(admin_client.get(MONITOR))
    assert "5.0" in page and "Calls left" in page
    assert "balance is low" not in page

    fake_telefonip.reset()
    fake_telefonip.balance = Decimal("0.8")
    from django.core.cache import cache

    cache.clear()
    page = html(admin_client.get(MONITOR))
    assert "balance is low" in page


@pytest.mark.parametrize("failure", ["server_error", "malformed", "refused", "slow"])
def test_monitor_balance_unavailable_never_500(
    admin_client, fake_telefonip, settings, monkeypatch, failure
):
    monkeypatch.setattr(flashcall_admin.monitor, "BALANCE_TIMEOUT", 0.3)
    if failure == "refused":
        settings.FLASHCALL_API_URL = refused_url()
    else:
        fake_telefonip.fault_actions = frozenset({"get_balance"})
        fake_telefonip.set_fault(failure)
    # "slow" answers after 2 s: without the 0.3 s timeout the page would show
    # the balance, not "unavailable".
    page = html(admin_client.get(MONITOR))
    assert "unavailable" in page
    assert fake_telefonip.token not in page


def test_monitor_works_with_the_cache_down(admin_client, settings):
    # When Redis is down staff most need the page: it is computed uncached.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dead": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        },
    }
    settings.FLASHCALL_CACHE_ALIAS = "dead"
    CallAttempt.objects.create(
        phone=PHONE, status=Status.REFUSED, channel="none", reason="cache_unavailable"
    )
    page = html(admin_client.get(MONITOR))
    assert "does not report a balance" in page  # the sandbox's answer, uncached
    assert admin_client.get(MONITOR).status_code == 200


def test_monitor_links_match_their_counts(admin_client):
    CallAttempt.objects.create(phone=PHONE, status=Status.VERIFIED)
    CallAttempt.objects.create(phone=PHONE, status=Status.UNLOCKED)  # a staff marker
    response = admin_client.get(MONITOR)
    assert response.context["summary"].requests == 1
    linked = admin_client.get(response.context["links"]["all"])
    assert linked.status_code == 200
    assert [a.status for a in linked.context["cl"].result_list] == [Status.VERIFIED]


def test_monitor_expired_link_lists_what_it_counts(admin_client):
    at = now()
    lapsed = CallAttempt.objects.create(
        phone=PHONE,
        status=Status.PENDING,
        created_at=at - timedelta(hours=2),
        expires_at=at - timedelta(hours=2) + timedelta(minutes=5),
    )
    marked = CallAttempt.objects.create(phone=PHONE, status=Status.EXPIRED)
    CallAttempt.objects.create(
        phone=PHONE, status=Status.PENDING, expires_at=at + timedelta(minutes=5)
    )
    response = admin_client.get(MONITOR)
    assert response.context["summary"].expired == 2
    linked = admin_client.get(response.context["links"]["expired"])
    assert {a.pk for a in linked.context["cl"].result_list} == {lapsed.pk, marked.pk}


def test_monitor_sandbox_reports_no_balance(admin_client):
    assert "does not report a balance" in html(admin_client.get(MONITOR))


def _bulk(n, start=0):
    at = now()
    statuses = [Status.VERIFIED, Status.EXPIRED, Status.EXHAUSTED, Status.FAILED, Status.REFUSED]
    reasons = {Status.FAILED: Reason.TIMEOUT, Status.REFUSED: Reason.PHONE_DAILY}
    CallAttempt.objects.bulk_create(
        [
            CallAttempt(
                phone=f"79{(start + i) % 5000:09d}",
                status=statuses[i % 5],
                reason=reasons.get(statuses[i % 5], ""),
                checks_used=3 if statuses[i % 5] == Status.EXHAUSTED else 0,
                ip=f"10.0.{(i // 250) % 250}.{i % 250}",
                price=Decimal("0.2") if i % 2 else None,
                created_at=at - timedelta(minutes=(start + i) % (60 * 24 * 30)),
            )
            for i in range(n)
        ],
        batch_size=2000,
    )


@pytest.mark.parametrize("period", ["1d", "30d"])
def test_monitor_query_count_does_not_grow_with_rows(admin_client, period):
    url = f"{MONITOR}?period={period}&refresh=1"  # computed, not from the report cache
    _bulk(10)
    admin_client.get(url)  # warm: session, content types, cached balance
    with CaptureQueriesContext(connection) as small:
        html(admin_client.get(url))
    _bulk(9_990, start=10)
    assert CallAttempt.objects.count() == 10_000
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["summary"].requests > 10
    # session, user, and stats.report(): 2 partial slots, the counts by bar
    # and outcome, live pending (read once for the totals and the
    # providers), the offenders. The offenders: 1 query per list from the
    # rows (SQLite); from the offender counts (PostgreSQL) 2 while no bucket
    # holds ten keys, at most 4.
    counted = offender_counts.active(connection)
    assert len(small) == (10 if counted else 8)
    assert len(small) <= len(large) <= len(small) + (4 if counted else 0), [q["sql"] for q in large]


def test_monitor_reuses_a_recent_report(admin_client):
    _bulk(10)
    admin_client.get(MONITOR)
    _bulk(5, start=10)
    with CaptureQueriesContext(connection) as cached:
        response = admin_client.get(MONITOR)
    assert response.context["summary"].requests == 10  # the cached report
    assert len(cached) == 2  # session and user only
    response = admin_client.get(MONITOR, {"refresh": "1"})
    assert response.context["summary"].requests == 15
    assert "refresh=1" in html(response)


# -- phone numbers and the user admin ----------------------------------------------


def test_phone_number_admin(admin_client, django_user_model):
    user = django_user_model.objects.create_user("anna")
    PhoneNumber.objects.create(user=user, phone=PHONE)
    page = html(admin_client.get("/admin/django_flashcall/phonenumber/"))
    assert "+7 924 450-10-03" in page and "anna" in page
    response = admin_client.get("/admin/django_flashcall/phonenumber/", {"q": "8 (924) 4501003"})
    assert len(response.context["cl"].result_list) == 1
    response = admin_client.get("/admin/django_flashcall/phonenumber/", {"q": "ann"})
    assert len(response.context["cl"].result_list) == 1


def test_phone_number_admin_normalises_new_phones(admin_client, django_user_model):
    user = django_user_model.objects.create_user("boris")
    url = "/admin/django_flashcall/phonenumber/add/"
    data = {"user": user.pk, "phone": "+7 (924) 450-10-05", "verified_at_0": "2026-01-01"}
    data["verified_at_1"] = "10:00:00"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert PhoneNumber.objects.get().phone == "79244501005"
    response = admin_client.post(url, {**data, "phone": "+1 555 0100"})
    assert "Enter a Russian mobile number" in html(response)


def test_user_admin_gets_the_phone_inline(settings, django_user_model, admin_user):
    site = django_admin.AdminSite(name="test")
    assert flashcall_admin.add_phone_inline(site) is False  # no user admin: no-op

    class CustomUserAdmin(UserAdmin):
        inlines = []
        list_display = ("username", "phone")

    site.register(django_user_model, CustomUserAdmin)
    assert flashcall_admin.add_phone_inline(site) is True
    assert flashcall_admin.add_phone_inline(site) is True  # idempotent
    model_admin = site._registry[django_user_model]
    assert type(model_admin) is CustomUserAdmin  # not replaced
    assert model_admin.inlines == [flashcall_admin.PhoneNumberInline]
    assert CustomUserAdmin.inlines == []  # the class is untouched

    request = RequestFactory().get("/")
    request.user = admin_user
    inlines = model_admin.get_inline_instances(request, admin_user)
    assert [type(i) for i in inlines] == [flashcall_admin.PhoneNumberInline]
    settings.FLASHCALL_USER_PHONE_FIELD = "phone"  # the phone is on the user model
    assert model_admin.get_inline_instances(request, admin_user) == []


def test_user_admin_phone_inline_is_read_only(admin_user, django_user_model):
    """Phones are verified by a call: the inline shows them, linked to the
    PhoneNumber admin, with no raw field and no "Add another"."""
    link = PhoneNumber.objects.create(user=admin_user, phone=PHONE)
    inline = flashcall_admin.PhoneNumberInline(django_user_model, django_admin.site)
    request = RequestFactory().get("/")
    request.user = admin_user
    assert inline.has_view_permission(request, admin_user)
    assert not inline.has_add_permission(request, admin_user)
    assert not inline.has_change_permission(request, admin_user)
    assert not inline.has_delete_permission(request, admin_user)
    formset = inline.get_formset(request, admin_user)
    assert list(formset.form.base_fields) == []  # nothing editable
    assert formset.max_num == 0 and not formset.can_delete
    cell = inline.phone_link(link)
    assert f"/admin/django_flashcall/phonenumber/{link.pk}/change/" in cell
    assert ">+7 924 450-10-03<" in cell
