"""A real browser (chromium through Playwright) against the example project.

The example site runs as its own server process (tests/browser_helpers.py)
with the SandboxProvider, which shows the simulated caller on the code page:
the test reads that number off the screen like a person would read their
phone. Screenshots of every step go to test-artifacts/browser/; the admin
monitoring page to docs/admin-monitoring.png (for the README) when FLASHCALL_UPDATE_DOCS is set.

Chromium must be /usr/bin/chromium (Debian's), or ``chromium`` on PATH;
``playwright install`` is not used. Without it the tests skip, except under
CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser_helpers import ROOT, Browserless, ExampleServer

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS_SCREENSHOT = ROOT / "docs" / "admin-monitoring.png"
MONITOR = "/admin/django_flashcall/callattempt/monitor/"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
COOLDOWN = 4  # seconds: short, so "call me again" can be waited for


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason}; CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10000:04d}"


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# --------------------------------------------------------------------------- fixtures


def launch_chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright, for a module-scoped fixture (this
    module's and the contrib browser tests'); skips, or fails in CI, when
    chromium or playwright is missing."""
    executable = chromium_path()
    if executable is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    with ExampleServer(
        tmp_path_factory.mktemp("example-site"),
        FLASHCALL_RESEND_COOLDOWN=str(COOLDOWN),
        FLASHCALL_RATELIMIT_REQUEST="30/h",  # the IP lock-out has its own server below
    ) as running:
        yield running


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Tab:
    """A page in a fresh browser context, recording console errors."""

    def __init__(self, browser: Any, server: ExampleServer, artifacts: Path, **context: Any):
        self.server = server
        self.artifacts = artifacts
        self.context = browser.new_context(**context)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        # The console says "Failed to load resource" without the URL: record it.
        self.page.on(
            "response",
            lambda response: (
                self.errors.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def goto(self, path: str) -> Any:
        return self.page.goto(self.server.url + path)

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab_factory(chromium_browser, server, artifacts) -> Iterator[Any]:
    tabs: list[Tab] = []

    def make(**context: Any) -> Tab:
        tab = Tab(chromium_browser, server, artifacts, **context)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.close()


def request_call(tab: Tab, phone: str, button: str) -> str:
    """Fill the phone form, submit, and return the code shown by the sandbox."""
    page = tab.page
    page.fill("#id_phone", phone)
    with page.expect_navigation(url=re.compile(r"/accounts/phone/confirm/")):
        page.get_by_role("button", name=button).click()
    caller = page.locator("[data-sandbox-caller]").inner_text()
    assert len(digits(caller)) == 11, caller
    return digits(caller)[-4:]


def type_code(tab: Tab, code: str, url: str | re.Pattern[str]) -> None:
    """Type 4 digits into an empty box; the page submits itself on the 4th
    (no click). The box is emptied first: digits left in it (a short code
    sent back) would submit early, and the rest of the keys would land in
    the next page's box."""
    box = tab.page.locator("#id_code")
    box.fill("")
    with tab.page.expect_navigation(url=url):
        box.press_sequentially(code, delay=40)


# --------------------------------------------------------------------------- tests


def test_english_login_flow(tab_factory):
    tab = tab_factory(locale="en-US", viewport={"width": 1024, "height": 800})
    page = tab.page

    tab.goto("/")
    assert page.locator("h1").inner_text() == "Phone login by flash call"
    tab.shot("01-home")

    with page.expect_navigation(url=re.compile(r"/accounts/phone/$")):
        page.locator("#login-link").click()
    assert page.locator("h1").inner_text() == "Log in with your phone"
    assert page.evaluate("document.activeElement.id") == "id_phone"  # autofocus
    tab.shot("02-login")

    code = request_call(tab, "+7 912 000-00-01", "Call me")
    assert "is calling you" in page.locator("[data-sandbox-call]").inner_text()
    lead = page.locator(".fc-lead").inner_text()
    assert "+7 912 000-00-01" in lead and "last 4 digits" in lead
    assert page.evaluate("document.activeElement.id") == "id_code"
    resend = page.locator("#fc-resend")
    assert resend.is_disabled()
    countdown = page.locator("[data-countdown]").first
    assert re.fullmatch(r"0:0\d", countdown.inner_text())
    tab.shot("03-confirm")

    # Too few digits and Enter: the page says what it wants (no browser
    # "Please match the requested format."), and it costs no attempt.
    page.locator("#id_code").fill("12")
    with page.expect_navigation(url=re.compile(r"/accounts/phone/confirm/")):
        page.locator("#id_code").press("Enter")
    assert page.locator("#id_code_error").inner_text() == (
        "Type the 4 digits: the last 4 digits of the calling number."
    )
    tab.shot("03b-short-code")

    type_code(tab, wrong(code), re.compile(r"/accounts/phone/confirm/"))
    error = page.locator("#id_code_error")
    assert "The code is wrong." in error.inner_text()
    assert "2 attempts left." in error.inner_text()
    assert page.locator("#id_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#id_code").input_value() == ""
    tab.shot("04-wrong-code")

    type_code(tab, code, re.compile(r"/profile/$"))
    assert page.locator("h1").inner_text() == "Your profile"
    assert page.locator("[data-profile-phone]").inner_text() == "+7 912 000-00-01"
    tab.shot("05-profile")

    # Logged in with a verified phone, the phone page says so.
    tab.goto("/accounts/phone/")
    assert page.locator("h1").inner_text() == "You are logged in"
    assert "+7 912 000-00-01 is verified" in page.locator("#fc-own-phone").inner_text()
    tab.shot("05b-logged-in-phone-page")
    tab.goto("/profile/")

    with page.expect_navigation():
        page.locator("#logout-button").click()
    assert page.locator("#login-link").is_visible()
    tab.shot("06-logged-out")
    assert tab.errors == []


def test_call_me_again_after_the_countdown(tab_factory):
    tab = tab_factory(locale="en-US")
    page = tab.page
    tab.goto("/accounts/phone/?next=/profile/")
    first = request_call(tab, "+7 912 000-00-02", "Call me")
    resend = page.locator("#fc-resend")
    assert resend.is_disabled()
    # The JavaScript countdown enables the button when the cooldown is over.
    page.wait_for_function(
        "!document.getElementById('fc-resend').disabled", timeout=(COOLDOWN + 5) * 1000
    )
    assert page.locator("[data-countdown]").first.inner_text() == "0:00"
    with page.expect_navigation(url=re.compile(r"/accounts/phone/confirm/")):
        resend.click()
    assert "We are calling you again." in page.locator(".fc-messages").inner_text()
    second = digits(page.locator("[data-sandbox-caller]").inner_text())[-4:]
    assert page.locator("#fc-resend").is_disabled()
    tab.shot("07-called-again")
    if second != first:  # the old code: named as such, not read as a typo
        type_code(tab, first, re.compile(r"/accounts/phone/confirm/"))
        assert page.locator("#id_code_error").inner_text() == (
            "That is the code of an earlier call: a newer call replaced it. "
            "Type the last 4 digits of the latest call. 2 attempts left."
        )
        tab.shot("07b-replaced-code")
    type_code(tab, second, re.compile(r"/profile/$"))
    assert page.locator("[data-profile-phone]").inner_text() == "+7 912 000-00-02"
    assert tab.errors == []


def test_russian_locale_on_a_phone_screen(tab_factory):
    tab = tab_factory(
        locale="ru-RU",
        extra_http_headers={"Accept-Language": "ru-RU,ru;q=0.9"},
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = tab.page
    tab.goto("/")
    assert page.locator("h1").inner_text() == "Вход по номеру телефона через звонок-сброс"
    assert page.locator("html").get_attribute("lang") == "ru"
    # Each language by its own name, not "Английский".
    assert page.locator("#site-language option").all_inner_texts() == ["English", "Русский"]
    with page.expect_navigation():
        page.locator("#login-link").click()
    assert page.locator("h1").inner_text() == "Вход по номеру телефона"
    assert "Номер телефона" in page.locator("label[for=id_phone]").inner_text()
    tab.shot("08-ru-login")

    page.fill("#id_phone", "12345")
    with page.expect_navigation():
        page.get_by_role("button", name="Позвоните мне").click()
    assert "Введите российский мобильный номер" in page.locator("#id_phone_error").inner_text()
    tab.shot("09-ru-invalid-phone")

    code = request_call(tab, "8 912 000 00 03", "Позвоните мне")
    assert page.locator("h1").inner_text() == "Введите код"
    assert "Вам звонит" in page.locator("[data-sandbox-call]").inner_text()
    assert page.get_by_role("button", name="Позвонить ещё раз").is_disabled()
    tab.shot("10-ru-confirm")

    type_code(tab, wrong(code), re.compile(r"/accounts/phone/confirm/"))
    assert page.locator("#id_code_error").inner_text() == "Неверный код. Осталось 2 попытки."
    tab.shot("11-ru-wrong-code")

    type_code(tab, code, re.compile(r"/profile/$"))
    assert page.locator("h1").inner_text() == "Ваш профиль"
    assert page.locator("[data-profile-phone]").inner_text() == "+7 912 000-00-03"
    tab.shot("12-ru-profile")
    assert tab.errors == []


def test_second_tab_points_back_to_the_waiting_code(tab_factory):
    """One call, then a new tab with the same phone: not "Too many requests",
    but "a call is on its way", with a link to the code page still waiting."""
    tab = tab_factory(locale="en-US")
    page = tab.page
    tab.goto("/accounts/phone/")
    code = request_call(tab, "+7 912 000-00-06", "Call me")
    second = tab.context.new_page()  # same browser, same session
    second.goto(tab.server.url + "/accounts/phone/")
    second.fill("#id_phone", "8 912 000 00 06")
    with second.expect_navigation(url=re.compile(r"/accounts/phone/$")):
        second.get_by_role("button", name="Call me").click()
    alert = second.locator("#fc-errors").inner_text()
    assert "A call to this number is on its way." in alert
    assert "You can ask for another call in" in alert
    assert "Too many" not in alert
    link = second.locator("#fc-code-link")
    assert link.inner_text() == "Enter the code of the call to +7 912 000-00-06"
    second.screenshot(path=str(tab.artifacts / "15-second-tab.png"), full_page=True)
    with second.expect_navigation(url=re.compile(r"/accounts/phone/confirm/")):
        link.click()
    caller = second.locator("[data-sandbox-caller]").inner_text()
    assert digits(caller)[-4:] == code  # the same call, not a new one
    with second.expect_navigation(url=re.compile(r"/profile/$")):
        second.locator("#id_code").press_sequentially(code, delay=40)
    assert page.url.endswith("/accounts/phone/confirm/")
    assert tab.errors == []


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    """The demo as shipped (60 s cooldown, 3 calls a day), with a small IP budget."""
    with ExampleServer(
        tmp_path_factory.mktemp("tight-site"), FLASHCALL_RATELIMIT_REQUEST="5/h"
    ) as running:
        running.create_superuser("admin", "demo-password-123")
        yield running


def test_first_hour_walk(chromium_browser, tight_server, artifacts):
    """Invalid submits are free; staff unlock lifts a cooldown; the IP lock-out
    says what to do (0.1: every submit counted, and "Too many requests")."""
    visitor = Tab(chromium_browser, tight_server, artifacts, locale="en-US")
    staff = Tab(chromium_browser, tight_server, artifacts, viewport={"width": 1280, "height": 900})
    try:
        page = visitor.page
        visitor.goto("/accounts/phone/")
        for junk in ("12345", "+1 202 555 0100", "hello", "8 800 555 35 35", "7912") * 3:
            page.fill("#id_phone", junk)
            with page.expect_navigation():
                page.get_by_role("button", name="Call me").click()
            assert "Enter a Russian mobile number" in page.locator("#id_phone_error").inner_text()
            assert page.locator("#id_phone_helptext").count() == 0  # said once, not twice
        visitor.shot("16-invalid-phone")
        request_call(visitor, "+7 912 000-00-11", "Call me")  # IP budget: 1 of 5

        other = Browserless(tight_server.url)

        def ask(phone: str) -> tuple[int, str]:
            _, _, form = other.request("/accounts/phone/")
            status, location, body = other.request(
                "/accounts/phone/", {"csrfmiddlewaretoken": other.csrf(form), "phone": phone}
            )
            return status, location or body

        status, body = ask("+79120000011")  # 2 of 5: refused by the cooldown
        assert status == 200 and "A call to this number is on its way." in body

        staff.goto("/admin/login/?next=/admin/")
        staff.page.fill("#id_username", "admin")
        staff.page.fill("#id_password", "demo-password-123")
        with staff.page.expect_navigation(url=re.compile(r"/admin/$")):
            staff.page.locator("input[type=submit]").click()
        staff.goto("/admin/django_flashcall/callattempt/?q=%2B79120000011")
        staff.page.locator("#action-toggle").check()
        staff.page.select_option("select[name=action]", "unlock_phones")
        with staff.page.expect_navigation():
            staff.page.locator("button[name=index]").click()
        assert "1 phone unlocked: it can get a new call now." in (
            staff.page.locator(".messagelist").inner_text()
        )
        staff.shot("17-admin-unlocked")
        # Within the minute's cooldown, the phone gets its call: 3 of 5.
        assert ask("+79120000011") == (302, "/accounts/phone/confirm/")

        assert ask("+79120000012")[0] == 302  # 4 of 5
        assert ask("+79120000013")[0] == 302  # 5 of 5
        visitor.goto("/accounts/phone/")
        page.fill("#id_phone", "+7 912 000-00-14")
        with page.expect_navigation():
            page.get_by_role("button", name="Call me").click()
        alert = page.locator("#fc-errors").inner_text()
        assert "Too many calls were requested from your network (IP address)." in alert
        assert "You can try again in" in alert
        assert "If a call has already reached you, you do not need another one:" in alert
        assert page.locator("#fc-code-link").inner_text() == (
            "Enter the code of the call to +7 912 000-00-11"
        )
        assert 'FLASHCALL_RATELIMIT_REQUEST = "5/h" per IP address' in alert  # DEBUG
        visitor.shot("18-ip-limit")
        assert visitor.errors == [] and staff.errors == []
    finally:
        visitor.close()
        staff.close()


def test_admin_monitoring_screenshot(tab_factory, server):
    """Runs last: the flows above left attempts for the monitoring page to show."""
    server.create_superuser("admin", "demo-password-123")
    # A little more traffic for the picture: a call refused by the resend cooldown.
    # (All the tests here share one IP budget, FLASHCALL_RATELIMIT_REQUEST = 30/h.)
    client = Browserless(server.url)
    for phone in ("+79120000004", "+79120000004", "+79120000005"):
        _, _, page = client.request("/accounts/phone/")
        client.request(
            "/accounts/phone/", {"csrfmiddlewaretoken": client.csrf(page), "phone": phone}
        )
    # A user who logged in by phone, for the user admin's phone inline.
    user = Browserless(server.url)
    _, _, page = user.request("/accounts/phone/")
    user.request(
        "/accounts/phone/", {"csrfmiddlewaretoken": user.csrf(page), "phone": "+79120000007"}
    )
    _, _, page = user.request("/accounts/phone/confirm/")
    caller = re.search(r"data-sandbox-caller>([^<]+)<", page).group(1)
    data = {"csrfmiddlewaretoken": user.csrf(page), "code": digits(caller)[-4:]}
    assert user.request("/accounts/phone/confirm/", data)[0] == 302
    tab = tab_factory(locale="en-US", viewport={"width": 1280, "height": 900})
    page = tab.page
    tab.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "demo-password-123")
    with page.expect_navigation(url=re.compile(r"/admin/$")):
        page.locator("input[type=submit]").click()
    tab.shot("13-admin-index")

    # The attempt list at 1280 px: every column inside the box, phones whole
    # for a superuser and on one line.
    tab.goto("/admin/django_flashcall/callattempt/")
    fits = page.evaluate(
        "document.querySelector('#result_list').getBoundingClientRect().right"
        " <= document.querySelector('.results').getBoundingClientRect().right + 1"
    )
    assert fits, "the attempt list is wider than its box"
    phones = page.locator("#result_list tbody th span")
    assert "+7 912 000-00-04" in phones.all_inner_texts()
    lines = page.evaluate(
        "[...document.querySelectorAll('#result_list tbody th span')]"
        ".map(s => s.getClientRects().length)"
    )
    assert set(lines) == {1}, "a phone number wraps"
    tab.shot("13b-admin-attempts")

    # The user admin: the verified phone, read-only, no "Add another".
    tab.goto("/admin/django_flashcall/phonenumber/?q=79120000007")
    with page.expect_navigation():
        page.get_by_role("link", name="79120000007", exact=True).click()
    inline = page.locator("#flashcall_phones-group")
    assert "+7 912 000-00-07" in inline.inner_text()
    assert inline.locator("input[name$='-phone']").count() == 0
    assert "Add another" not in inline.inner_text()
    tab.shot("13c-admin-user-phone")

    response = tab.goto(MONITOR)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    assert "\u00a0₽" in page.locator("#content-main").inner_text()
    widths = page.evaluate(
        "[...document.querySelectorAll('.flashcall-grid .module')].map(m => m.offsetWidth)"
    )
    assert min(widths) >= 250, widths  # no narrow "Provider errors" box
    tab.shot("14-admin-monitoring")
    if os.environ.get("FLASHCALL_UPDATE_DOCS"):  # refresh the README's picture
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)
    assert tab.errors == [], "the monitoring page logged errors"


# --------------------------------------------------------------------------- the challenge


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    """The example with the toy challenge, asked for once a range has one
    unanswered call (SPEC §10)."""
    with ExampleServer(
        tmp_path_factory.mktemp("guarded-site"),
        FLASHCALL_CHALLENGE="django_flashcall.testing.challenge.arithmetic",
        FLASHCALL_RANGE_RISK="1",
    ) as running:
        yield running


def test_the_phone_page_asks_for_the_challenge_when_the_range_is_hot(
    chromium_browser, guarded_server, artifacts
):
    tab = Tab(chromium_browser, guarded_server, artifacts, locale="en-US")
    page = tab.page
    try:
        tab.goto("/accounts/phone/")
        assert page.locator("#id_challenge").count() == 0  # not asked while the risk is low
        request_call(tab, "+7 924 450-10-01", "Call me")  # never answered: the range is hot

        tab.goto("/accounts/phone/")
        page.fill("#id_phone", "+7 924 450-10-02")
        with page.expect_navigation(url=re.compile(r"/accounts/phone/$")):
            page.get_by_role("button", name="Call me").click()
        question = page.locator("label[for=id_challenge]").inner_text()
        match = re.fullmatch(r"How much is (\d+) \+ (\d+)\?", question)
        assert match, question
        assert "answer the check" in page.locator("#id_challenge_error").inner_text()
        assert page.evaluate("document.activeElement.id") == "id_challenge"
        assert page.locator("#id_phone").input_value() == "+7 924 450-10-02"  # kept
        tab.shot("challenge-01-asked")

        page.fill("#id_challenge", "0")  # wrong: asked again, no call
        with page.expect_navigation(url=re.compile(r"/accounts/phone/$")):
            page.get_by_role("button", name="Call me").click()
        assert "wrong" in page.locator("#id_challenge_error").inner_text()
        assert page.locator("#id_challenge").input_value() == ""

        page.fill("#id_challenge", str(int(match[1]) + int(match[2])))
        with page.expect_navigation(url=re.compile(r"/accounts/phone/confirm/")):
            page.get_by_role("button", name="Call me").click()
        code = digits(page.locator("[data-sandbox-caller]").inner_text())[-4:]
        tab.shot("challenge-02-called")
        type_code(tab, code, re.compile(r"/profile/$"))
        assert page.locator("[data-profile-phone]").inner_text() == "+7 924 450-10-02"
        assert tab.errors == []
    finally:
        tab.close()
