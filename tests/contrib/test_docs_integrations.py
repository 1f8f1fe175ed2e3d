"""docs/howto/integrations.rst, allauth part, as a new user follows it: a fresh
``startproject`` that already runs django-allauth, the page's settings block
pasted in, ``migrate``, then signup and login by phone through allauth's pages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("allauth")

from tests.conftest import on_postgres  # noqa: E402
from tests.test_docs import ROOT, pages, snippets  # noqa: E402

PAGE = "howto/integrations.rst"

# What "a site that already runs django-allauth" has (allauth's quickstart).
EXISTING_ALLAUTH_SETTINGS = """
INSTALLED_APPS += ["allauth", "allauth.account"]
MIDDLEWARE += ["allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
"""
EXISTING_ALLAUTH_URLS = """
from django.urls import include
urlpatterns += [path("accounts/", include("allauth.urls"))]
"""

RUN = """
import re
from django.core.management import call_command
from django.test import Client
from django_flashcall.models import CallAttempt, PhoneNumber
from django_flashcall.providers.sandbox import outbox

call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)
browser = Client(HTTP_HOST="127.0.0.1:8000")

page = browser.post("/accounts/signup/", {"phone": "8 924 450-10-03"})
assert page.status_code == 302 and page["Location"] == "/accounts/phone/verify/", page
page = browser.post("/accounts/phone/verify/", {"code": outbox[-1].code})
assert page.status_code == 302, page.content
user_id = browser.session["_auth_user_id"]
assert PhoneNumber.objects.get().phone == "79244501003"

browser.post("/accounts/logout/")
assert "_auth_user_id" not in browser.session
# At once: FLASHCALL_RESEND_COOLDOWN refuses a second call, as the guide says.
page = browser.post("/accounts/login/", {"login": "+7 (924) 450-10-03"})
assert page["Location"] == "/accounts/login/", page
assert len(outbox) == 1
from django.test import override_settings
with override_settings(FLASHCALL_RESEND_COOLDOWN=0):  # "a minute later"
    page = browser.post("/accounts/login/", {"login": "+7 (924) 450-10-03"})
assert page["Location"].startswith("/accounts/login/code/confirm/"), page
page = browser.post("/accounts/login/code/confirm/", {"code": outbox[-1].code})
assert page.status_code == 302, page.content
assert browser.session["_auth_user_id"] == user_id
statuses = sorted(CallAttempt.objects.values_list("status", flat=True))
assert statuses == ["refused", "verified", "verified"], statuses
print("GUIDE OK")
"""


@pytest.mark.skipif(on_postgres(), reason="its project has its own SQLite: once is enough")
def test_the_allauth_guide_works_on_an_existing_allauth_site(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FLASHCALL_"))},
        "PYTHONPATH": str(ROOT),
    }
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}
    result = subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], **run)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "mysite"
    with (project / "mysite" / "settings.py").open("a") as target:
        target.write(EXISTING_ALLAUTH_SETTINGS)
    with (project / "mysite" / "urls.py").open("a") as target:
        target.write(EXISTING_ALLAUTH_URLS)

    blocks = snippets("project", PAGE)
    assert [b.arg for b in blocks] == ["mysite/settings.py"]
    for block in blocks:
        with (project / block.arg).open("a") as target:
            target.write("\n" + block.body)

    run["cwd"] = project
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", RUN], **run)
    assert "GUIDE OK" in result.stdout, result.stdout + result.stderr
    # The line the guide tells the reader to look for.
    assert "Sandbox call to +7 924 450-10-03 from +7 " in result.stderr


def test_every_contrib_dotted_path_in_the_docs_imports():
    """``django_flashcall.contrib.x.y`` in the docs and README names something real."""
    import re
    from importlib import import_module

    from django.utils.module_loading import import_string

    texts = [*pages().values(), (ROOT / "README.rst").read_text(encoding="utf-8")]
    paths = {
        path
        for text in texts
        for path in re.findall(r"(?:``|\")(django_flashcall\.contrib(?:\.\w+)+)(?:``|\")", text)
    }
    assert len(paths) >= 5, paths
    for path in sorted(paths):
        try:
            import_module(path)
        except ImportError:
            import_string(path)
