"""System checks: each id fires exactly when its misconfiguration is present."""

from __future__ import annotations

import pytest
from django.core.checks import Error, Warning
from django.core.checks.registry import registry

from django_flashcall.checks import check_settings

TELEFONIP = "django_flashcall.providers.TelefonIPProvider"
SANDBOX = "django_flashcall.providers.SandboxProvider"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"


def ids() -> list[str]:
    return sorted(message.id for message in check_settings())


@pytest.fixture
def clean(settings):
    """A configuration with nothing to report."""
    settings.DEBUG = False
    settings.FLASHCALL_PROVIDER = TELEFONIP
    settings.FLASHCALL_API_TOKEN = "a-token"
    settings.FLASHCALL_LOGIN = "session"
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0"}}
    return settings


def test_clean_configuration_has_no_messages(clean):
    assert check_settings() == []


def test_check_is_registered():
    assert check_settings in registry.get_checks(include_deployment_checks=True)


def test_test_settings_report_the_local_cache_and_the_sandbox(settings):
    # tests/settings.py: sandbox, LocMemCache, DEBUG off (both silenced there).
    assert ids() == ["django_flashcall.W001", "django_flashcall.W003"]


# --------------------------------------------------------------------------- E001


@pytest.mark.parametrize("token", ["", None])
def test_e001_telefonip_without_token(clean, token):
    clean.FLASHCALL_API_TOKEN = token
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.E001"]
    assert isinstance(messages[0], Error)
    assert messages[0].hint


def test_e001_subclass_of_telefonip_without_token(clean):
    clean.FLASHCALL_PROVIDER = "tests.helpers.MyTelefonIP"
    clean.FLASHCALL_API_TOKEN = ""
    assert ids() == ["django_flashcall.E001"]


def test_e001_default_provider_without_token(clean):
    del clean.FLASHCALL_PROVIDER  # the default is the telefon-ip client
    del clean.FLASHCALL_API_TOKEN
    assert ids() == ["django_flashcall.E001"]


@pytest.mark.parametrize("provider", [SANDBOX, "tests.helpers.FailingProvider"])
def test_no_e001_for_other_providers(clean, provider):
    clean.FLASHCALL_PROVIDER = provider
    clean.FLASHCALL_API_TOKEN = ""
    clean.DEBUG = True  # the sandbox's own warning, W003, is for DEBUG off
    assert ids() == []


# --------------------------------------------------------------------------- E002


@pytest.mark.parametrize(
    "provider",
    [
        "django_flashcall.providers.NoSuchProvider",
        "no_such_module.Provider",
        "noDotsAtAll",
        "django_flashcall.providers.telefonip.",
    ],
)
def test_e002_provider_does_not_import(clean, provider):
    clean.FLASHCALL_PROVIDER = provider
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.E002"]
    assert isinstance(messages[0], Error)
    assert messages[0].hint


def test_e002_hides_the_token(clean):
    clean.FLASHCALL_API_TOKEN = "sentinel-token-42"
    clean.FLASHCALL_PROVIDER = "no_such_module.Provider"
    (message,) = check_settings()
    assert "sentinel-token-42" not in f"{message.msg} {message.hint}"


# --------------------------------------------------------------------------- E003


@pytest.mark.parametrize(
    "login",
    [
        "sessions",
        "Session",
        "",
        "tests.helpers.no_such_hook",
        "no_such_module.hook",
        "tests.helpers.NOT_CALLABLE",
    ],
)
def test_e003_login_neither_mode_nor_callable(clean, login):
    clean.FLASHCALL_LOGIN = login
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.E003"]
    assert isinstance(messages[0], Error)


@pytest.mark.parametrize("login", ["session", "token", "none", "tests.helpers.login_hook"])
def test_no_e003_for_modes_and_callables(clean, login):
    clean.FLASHCALL_LOGIN = login
    assert ids() == []


# --------------------------------------------------------------------------- E004


def test_e004_token_login_without_authtoken(clean):
    clean.FLASHCALL_LOGIN = "token"
    clean.INSTALLED_APPS = [a for a in clean.INSTALLED_APPS if a != "rest_framework.authtoken"]
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.E004"]
    assert isinstance(messages[0], Error)


@pytest.mark.parametrize("login", ["session", "none", "tests.helpers.login_hook"])
def test_no_e004_without_token_login(clean, login):
    clean.FLASHCALL_LOGIN = login
    clean.INSTALLED_APPS = [a for a in clean.INSTALLED_APPS if a != "rest_framework.authtoken"]
    assert ids() == []


def test_no_e004_when_authtoken_is_installed_by_its_app_config(clean):
    clean.FLASHCALL_LOGIN = "token"
    clean.INSTALLED_APPS = [
        "rest_framework.authtoken.apps.AuthTokenConfig" if a == "rest_framework.authtoken" else a
        for a in clean.INSTALLED_APPS
    ]
    assert ids() == []


# --------------------------------------------------------------------------- E005


@pytest.mark.parametrize("setting", ["FLASHCALL_RATELIMIT_REQUEST", "FLASHCALL_RATELIMIT_CONFIRM"])
def test_e005_a_rate_django_ratelimit_cannot_read(clean, setting):
    setattr(clean, setting, "10 per hour")
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.E005"]
    assert setting in messages[0].msg and "'10/h'" in messages[0].hint


def test_w004_a_rate_django_ratelimit_reads_otherwise(clean):
    clean.FLASHCALL_RATELIMIT_CONFIRM = "30/week"  # 30 per second to django-ratelimit
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.W004"]
    assert "30 per 1 s" in messages[0].msg


def test_no_e005_for_good_rates_or_none(clean):
    clean.FLASHCALL_RATELIMIT_REQUEST = "5/15m"
    clean.FLASHCALL_RATELIMIT_CONFIRM = None
    assert ids() == []
    clean.FLASHCALL_RATELIMIT_CONFIRM = "10/hour"  # django-ratelimit reads it right
    assert ids() == []


# --------------------------------------------------------------------------- E006


@pytest.mark.parametrize("value", ["1,5", "fifty", "NaN", [50]])
def test_e006_low_balance_not_a_number(clean, value):
    clean.FLASHCALL_LOW_BALANCE = value
    assert ids() == ["django_flashcall.E006"]


@pytest.mark.parametrize("value", [None, 0, 50, 12.5, "7.5"])
def test_no_e006_for_numbers(clean, value):
    clean.FLASHCALL_LOW_BALANCE = value
    assert ids() == []


# --------------------------------------------------------------------------- W001


@pytest.mark.parametrize("backend", [LOCMEM, "django.core.cache.backends.dummy.DummyCache"])
def test_w001_cache_not_shared(clean, backend):
    clean.CACHES = {"default": {"BACKEND": backend}}
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.W001"]
    assert isinstance(messages[0], Warning)
    assert messages[0].hint


def test_no_w001_in_debug(clean):
    clean.CACHES = {"default": {"BACKEND": LOCMEM}}
    clean.DEBUG = True
    assert ids() == []


@pytest.mark.parametrize(
    "backend",
    [
        REDIS,
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_no_w001_for_shared_caches(clean, backend):
    clean.CACHES = {"default": {"BACKEND": backend, "LOCATION": "x"}}
    assert ids() == []


def test_w001_follows_the_cache_alias(clean):
    clean.CACHES = {
        "default": {"BACKEND": LOCMEM},
        "shared": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0"},
    }
    clean.FLASHCALL_CACHE_ALIAS = "shared"
    clean.RATELIMIT_USE_CACHE = "shared"  # django-ratelimit's IP counters too
    assert ids() == []
    clean.FLASHCALL_CACHE_ALIAS = "default"
    assert ids() == ["django_flashcall.W001"]


# --------------------------------------------------------------------------- W003


def test_w003_sandbox_without_debug(clean):
    clean.FLASHCALL_PROVIDER = SANDBOX
    messages = check_settings()
    assert [m.id for m in messages] == ["django_flashcall.W003"]
    assert isinstance(messages[0], Warning) and "W003" in messages[0].hint


def test_w003_covers_sandbox_subclasses(clean):
    clean.FLASHCALL_PROVIDER = "tests.helpers.ScriptedProvider"
    assert ids() == ["django_flashcall.W003"]


def test_no_w003_in_debug(clean):
    clean.FLASHCALL_PROVIDER = SANDBOX
    clean.DEBUG = True
    assert ids() == []


# --------------------------------------------------------------------------- together


def test_several_problems_are_all_reported(clean):
    clean.FLASHCALL_API_TOKEN = ""
    clean.FLASHCALL_LOGIN = "bogus"
    clean.CACHES = {"default": {"BACKEND": LOCMEM}}
    assert ids() == ["django_flashcall.E001", "django_flashcall.E003", "django_flashcall.W001"]


def test_w001_for_django_ratelimits_own_cache(clean):
    clean.CACHES = {
        "default": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0"},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    assert ids() == []
    clean.RATELIMIT_USE_CACHE = "local"  # the IP limits would count per process
    assert ids() == ["django_flashcall.W001"]


def test_w002_when_the_backend_is_missing(clean):
    clean.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids() == ["django_flashcall.W002"]


# --------------------------------------------------------------------------- E007, E008


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PHONE_MAX_FAILURES", 0),
        ("MAX_CHECKS", 0),
        ("CODE_TTL", -5),
        ("PHONE_DAILY_LIMIT", 0),
        ("BREAKER_THRESHOLD", 0),
        ("BREAKER_COOLDOWN", 0),
        ("RETENTION_DAYS", 0),
        ("RESEND_COOLDOWN", -1),
        ("DAILY_BUDGET", -1),
        ("TRUSTED_PROXY_COUNT", -1),
        ("CODE_TTL", "300"),
        ("MAX_CHECKS", True),
        ("CODE_TTL", 2.5),
        ("TIMEOUT", 0),
        ("TIMEOUT", (3, None)),
        ("TIMEOUT", (1, 2, 3)),
        ("SMS_FALLBACK", "yes"),
        ("CREATE_USERS", 1),
        ("API_URL", "ftp://example.com/"),
        ("BROWSABLE_API", "on"),
    ],
)
def test_e007_refuses_values_that_make_no_sense(clean, name, value):
    setattr(clean, f"FLASHCALL_{name}", value)
    messages = [m for m in check_settings() if m.id == "django_flashcall.E007"]
    assert len(messages) == 1
    assert isinstance(messages[0], Error)
    assert messages[0].msg.startswith(f"FLASHCALL_{name} = {value!r} is not ")
    assert f"FLASHCALL_{name}" in messages[0].hint


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RESEND_COOLDOWN", 0),
        ("DAILY_BUDGET", 0),
        ("DAILY_BUDGET", None),
        ("DAILY_BUDGET", 500),
        ("TIMEOUT", 5),
        ("TIMEOUT", [2, 10.5]),
        ("PHONE_MAX_FAILURES", 1),
        ("API_URL", "http://127.0.0.1:8080/api/"),
        ("USER_PHONE_FIELD", "phone"),
        ("BROWSABLE_API", False),
    ],
)
def test_e007_accepts_the_edges_that_make_sense(clean, name, value):
    setattr(clean, f"FLASHCALL_{name}", value)
    assert "django_flashcall.E007" not in ids()


def test_every_default_passes_its_own_rule():
    from django_flashcall.conf import DEFAULTS, RULES

    assert set(RULES) <= set(DEFAULTS)
    assert [name for name, rule in RULES.items() if not rule.check(DEFAULTS[name])] == []


def test_e008_cache_alias_must_name_a_cache(clean):
    clean.FLASHCALL_CACHE_ALIAS = "flashcall"
    assert "django_flashcall.E008" in ids()
    clean.CACHES = {**clean.CACHES, "flashcall": clean.CACHES["default"]}
    assert "django_flashcall.E008" not in ids()
