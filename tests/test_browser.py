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


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    with ExampleServer(
        tmp_path_factory.mktemp("example-site"), FLASHCALL_RESEND_COOLDOWN=str(COOLDOWN)
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
    """Type 4 digits; the page submits itself on the 4th (no click)."""
    with tab.page.expect_navigation(url=url):
        tab.page.locator("#id_code").press_sequentially(code, delay=40)


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
    if second != first:
        type_code(tab, first, re.compile(r"/accounts/phone/confirm/"))
        assert "The code is wrong." in page.locator("#id_code_error").inner_text()
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


def test_admin_monitoring_screenshot(tab_factory, server):
    """Runs last: the flows above left attempts for the monitoring page to show."""
    server.create_superuser("admin", "demo-password-123")
    # A little more traffic for the picture: a call refused by the resend cooldown.
    # (All the tests here share one IP budget, FLASHCALL_RATELIMIT_REQUEST = 10/h:
    # 8 requests so far.)
    client = Browserless(server.url)
    for phone in ("+79120000004", "+79120000004", "+79120000005"):
        _, _, page = client.request("/accounts/phone/")
        client.request(
            "/accounts/phone/", {"csrfmiddlewaretoken": client.csrf(page), "phone": phone}
        )
    tab = tab_factory(locale="en-US", viewport={"width": 1280, "height": 900})
    page = tab.page
    tab.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "demo-password-123")
    with page.expect_navigation(url=re.compile(r"/admin/$")):
        page.locator("input[type=submit]").click()
    tab.shot("13-admin-index")

    response = tab.goto(MONITOR)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    tab.shot("14-admin-monitoring")
    if os.environ.get("FLASHCALL_UPDATE_DOCS"):  # refresh the README's picture
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)
    assert tab.errors == [], "the monitoring page logged errors"
