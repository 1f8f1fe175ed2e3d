"""A real browser (chromium through Playwright) through allauth's and
two-factor's own pages, on the example project run with
``example.settings_allauth`` / ``example.settings_two_factor``.

The sandbox's simulated caller shows on those pages (the demo's
``_sandbox_last_call.html``): the test reads the code off the screen like a
person reads their phone. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("allauth")
pytest.importorskip("two_factor")

from tests.browser_helpers import ExampleServer, manage  # noqa: E402
from tests.test_browser import (  # noqa: E402
    ARTIFACTS,
    Tab,
    digits,
    launch_chromium,
    wrong,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def site(tmp_path_factory: pytest.TempPathFactory, settings_module: str) -> ExampleServer:
    # No cooldown: the signup's call and the login's call follow each other
    # at once (the cooldown itself is tested in test_allauth_pages.py).
    return ExampleServer(
        tmp_path_factory.mktemp(settings_module.rsplit(".", 1)[-1]),
        DJANGO_SETTINGS_MODULE=settings_module,
        FLASHCALL_RESEND_COOLDOWN="0",
    )


@pytest.fixture(scope="module")
def allauth_site(tmp_path_factory) -> Iterator[ExampleServer]:
    with site(tmp_path_factory, "example.settings_allauth") as running:
        yield running


@pytest.fixture(scope="module")
def two_factor_site(tmp_path_factory) -> Iterator[ExampleServer]:
    with site(tmp_path_factory, "example.settings_two_factor") as running:
        yield running


def shown_code(tab: Tab) -> str:
    caller = tab.page.locator("[data-sandbox-caller]").inner_text()
    assert len(digits(caller)) == 11, caller
    return digits(caller)[-4:]


def test_allauth_signup_then_login_by_phone(browser, allauth_site, artifacts):
    tab = Tab(browser, allauth_site, artifacts, locale="en-US")
    page = tab.page
    try:
        tab.goto("/accounts/signup/")
        page.fill("input[name=phone]", "8 924 450-10-03")  # a spelling allauth alone refuses
        with page.expect_navigation(url=re.compile(r"/accounts/phone/verify/$")):
            page.locator("main form button[type=submit]").last.click()
        code = shown_code(tab)
        tab.shot("allauth-01-verify-phone")

        page.fill("input[name=code]", wrong(code))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
        assert "Incorrect code" in page.content()
        page.fill("input[name=code]", code)
        with page.expect_navigation(url=re.compile(r"/profile/$")):
            page.locator("main form button[type=submit]").first.click()
        assert page.locator("[data-profile-phone]").inner_text() == "+7 924 450-10-03"
        tab.shot("allauth-02-signed-up")

        with page.expect_navigation():
            page.locator("#logout-button").click()
        tab.goto("/accounts/login/")
        page.fill("input[name=login]", "+7 (924) 450-10-03")
        with page.expect_navigation(url=re.compile(r"/accounts/login/code/confirm/")):
            page.locator("main form button[type=submit]").first.click()
        code = shown_code(tab)
        tab.shot("allauth-03-login-code")
        page.fill("input[name=code]", code)
        with page.expect_navigation(url=re.compile(r"/profile/$")):
            page.locator("main form button[type=submit]").first.click()
        assert page.locator("[data-profile-phone]").inner_text() == "+7 924 450-10-03"
        assert tab.errors == []
    finally:
        tab.close()


def test_two_factor_setup_then_login(browser, two_factor_site, artifacts):
    result = manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('hana', password='pw-hana-12345')",
        env=two_factor_site.env,
    )
    assert result.returncode == 0, result.stderr
    tab = Tab(browser, two_factor_site, artifacts, locale="en-US")
    page = tab.page

    def log_in_with_password() -> None:
        tab.goto("/account/login/")
        page.fill("input[name=auth-username]", "hana")
        page.fill("input[name=auth-password]", "pw-hana-12345")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").last.click()

    def submit() -> None:
        with page.expect_navigation():
            page.locator("main form button[type=submit]").last.click()

    try:
        log_in_with_password()
        tab.goto("/account/two_factor/setup/")
        submit()  # the welcome step
        page.get_by_label("Flash call").check()
        submit()
        page.fill("input[name=flashcall-phone]", "+7 924 450-10-03")
        submit()
        assert "We are calling" in page.content()
        code = shown_code(tab)
        tab.shot("two-factor-01-setup-code")
        page.fill("input[name=flashcall_code-token]", code)
        with page.expect_navigation(url=re.compile(r"/account/two_factor/setup/complete/$")):
            page.locator("main form button[type=submit]").last.click()
        tab.shot("two-factor-02-setup-complete")

        page.context.clear_cookies()
        log_in_with_password()
        assert page.locator("input[name=token-otp_token]").is_visible()
        code = shown_code(tab)
        tab.shot("two-factor-03-login-code")
        page.fill("input[name=token-otp_token]", code)
        with page.expect_navigation(url=re.compile(r"/account/two_factor/$")):
            page.locator("main form button[type=submit]").last.click()
        # two-factor's profile page names the default method by its action.
        assert "Call +7" in page.locator("main").inner_text()
        assert tab.errors == []
    finally:
        tab.close()
