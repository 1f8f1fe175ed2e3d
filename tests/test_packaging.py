"""The released artefacts: ``python -m build`` makes an sdist and a wheel that
``twine check`` accepts, and the wheel, installed alone into a fresh virtualenv,
carries everything the package needs (templates, static files, compiled
catalogs, migrations, ``py.typed``) and runs a project that passes its checks.

Slow (a build and a ``pip install`` into a new virtualenv, ~25 s): marked
``packaging``, left out of ``make test-fast`` and the SQLite run, run once in
the PostgreSQL run of ``make test`` (so in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import django_flashcall

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_flashcall"

# A project that uses the installed wheel: its pages, its catalogs, its statics.
PROJECT_RUN = """
import django_flashcall, sys
from pathlib import Path
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.template.loader import get_template
from django.utils import translation

here = Path(django_flashcall.__file__).resolve()
assert "site-packages" in here.parts, here  # the wheel, not the source tree
call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)
call_command("makemigrations", "django_flashcall", check=True, dry_run=True)
for name in ("login", "confirm", "base"):
    get_template(f"django_flashcall/{name}.html")
get_template("admin/django_flashcall/callattempt/monitor.html")
assert finders.find("django_flashcall/flashcall.js")
with translation.override("ru"):
    assert translation.gettext("The code is wrong.") != "The code is wrong."
assert (here.parent / "py.typed").is_file()
print("WHEEL OK", django_flashcall.__version__)
"""

SETTINGS_TAIL = """
INSTALLED_APPS += ["rest_framework", "django_flashcall"]
AUTHENTICATION_BACKENDS = [
    "django_flashcall.auth_backends.FlashCallBackend",
    "django.contrib.auth.backends.ModelBackend",
]
FLASHCALL_PROVIDER = "django_flashcall.providers.SandboxProvider"
"""


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


def package_files() -> set[str]:
    """Every file of the package in the source tree, as a wheel names it."""
    return {
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # The default build makes the sdist, then the wheel from the sdist: a file
    # missing from the sdist is missing from the wheel too.
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    return out


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(dist):
    version = django_flashcall.__version__
    names = sorted(p.name for p in dist.iterdir())
    assert names == [
        f"django_flashcall-{version}-py3-none-any.whl",
        f"django_flashcall-{version}.tar.gz",
    ]
    result = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())])
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_carries_every_file_of_the_package(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        inside = set(zf.namelist())
        metadata = next(n for n in inside if n.endswith(".dist-info/METADATA"))
        meta = zf.read(metadata).decode()
    assert package_files() <= inside, sorted(package_files() - inside)
    for needed in (
        "django_flashcall/py.typed",
        "django_flashcall/locale/ru/LC_MESSAGES/django.mo",
        "django_flashcall/migrations/0001_initial.py",
        "django_flashcall/templates/django_flashcall/login.html",
        "django_flashcall/static/django_flashcall/flashcall.js",
    ):
        assert needed in inside
    assert not [n for n in inside if n.startswith(("tests/", "docs/", "example_project/"))]
    assert "Classifier: Typing :: Typed" in meta
    assert "Requires-Dist: Django>=4.2" in meta


def test_the_sdist_carries_the_docs_tests_and_changelog(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        top = f"django_flashcall-{django_flashcall.__version__}/"
        inside = {n.removeprefix(top) for n in tf.getnames()}
    for needed in ("CHANGES.rst", "LICENSE", "docs/conf.py", "docs/index.rst", "tests/settings.py"):
        assert needed in inside
    assert not [n for n in inside if "__pycache__" in n or n.startswith("docs/_build")]


def test_the_wheel_alone_runs_a_project(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    # No pip of its own: the suite's (newer, faster) pip installs into it.
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    # Outside the source tree, with nothing of it on the path.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "DJANGO_", "FLASHCALL_", "VIRTUAL_ENV"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    kwargs = {"cwd": tmp_path, "env": env}
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", str(wheel)], **kwargs)
    run([python, "-m", "django", "startproject", "site_"], **kwargs)
    settings = tmp_path / "site_" / "site_" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS_TAIL)
    kwargs["cwd"] = tmp_path / "site_"
    result = run([python, "manage.py", "shell", "-c", PROJECT_RUN], **kwargs)
    assert f"WHEEL OK {django_flashcall.__version__}" in result.stdout
