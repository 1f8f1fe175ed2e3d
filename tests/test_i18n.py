"""English and Russian: the pages, the API's ``detail`` messages and the
shipped catalogs (django_flashcall/locale/ru, example_project/locale/ru)."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.test import Client
from django.utils import translation

from django_flashcall.exceptions import ERRORS
from django_flashcall.models import CallAttempt, PhoneNumber, Status

from .helpers import wrong

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "django_flashcall"
CATALOGS = {
    "app": APP / "locale" / "ru" / "LC_MESSAGES",
    "example": ROOT / "example_project" / "locale" / "ru" / "LC_MESSAGES",
}
LOGIN = "/accounts/phone/"
CONFIRM = "/accounts/phone/confirm/"
RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


# --------------------------------------------------------------------------- the .po files (polib)


def read_po(path: Path) -> polib.POFile:
    return polib.pofile(str(path))


def nplurals(po: polib.POFile) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", po.metadata["Plural-Forms"])
    assert match
    return int(match.group(1))


def messages(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if e.msgid and not e.obsolete]


def translations(entry: polib.POEntry) -> list[str]:
    """The msgstr, or the plural forms in order."""
    if entry.msgid_plural:
        return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def catalog_key(entry: polib.POEntry) -> str:
    """The key gettext uses: the context, EOT, the msgid."""
    return entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"


# --------------------------------------------------------------------------- pages


@pytest.mark.django_db
def test_login_page_is_russian(client):
    body = client.get(LOGIN, **RU).content.decode()
    assert '<html lang="ru">' in body
    assert "Вход по номеру телефона" in body
    assert "Номер телефона" in body
    assert "Позвоните мне" in body
    assert "Log in with your phone" not in body


@pytest.mark.django_db
def test_english_by_default(client):
    body = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in body
    assert "Log in with your phone" in body


@pytest.mark.django_db
def test_confirm_page_and_errors_are_russian(client, flashcall_outbox):
    client.post(LOGIN, {"phone": "+79123456789"}, **RU)
    body = client.get(CONFIRM, **RU).content.decode()
    assert "Введите код" in body
    assert "Мы звоним вам на +7 912 345-67-89" in body
    assert "Позвонить ещё раз" in body
    assert "Новый звонок можно запросить через" in body
    code = flashcall_outbox[-1].code
    body = client.post(CONFIRM, {"code": wrong(code)}, **RU).content.decode()
    assert "Неверный код. Осталось 2 попытки." in body
    body = client.post(CONFIRM, {"code": wrong(code)}, **RU).content.decode()
    assert "Неверный код. Осталась 1 попытка." in body


@pytest.mark.django_db
def test_invalid_phone_on_the_page_is_russian(client):
    body = client.post(LOGIN, {"phone": "12"}, **RU).content.decode()
    assert "Введите российский мобильный номер" in body


@pytest.mark.django_db
def test_rate_limit_on_the_page_is_russian(client, flashcall_outbox):
    client.post(LOGIN, {"phone": "+79123456789"}, **RU)
    body = client.post(LOGIN, {"phone": "+79123456789"}, **RU).content.decode()
    # The same phone again in this session: its call is on its way.
    assert "Звонок на этот номер уже идёт." in body
    assert "Новый звонок можно запросить через" in body
    assert "Ввести код звонка на +7 912 345-67-89" in body
    body = Client().post(LOGIN, {"phone": "+79123456789"}, **RU).content.decode()
    assert "Звонок на этот номер уже идёт." in body  # another browser: no link


# --------------------------------------------------------------------------- the API


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, expected",
    [
        ({"phone": "12"}, "Введите российский мобильный номер, например +7 912 345-67-89."),
        ({"phone": 79123456789}, "«phone» должно быть строкой."),
        ({"phone": "+79123456789", "x": 1}, "Неизвестное поле: x."),
        ({}, "«phone» обязательно."),
    ],
)
def test_api_request_details_are_russian(client, body, expected):
    response = client.post("/api/flashcall/request/", body, content_type="application/json", **RU)
    assert response.status_code == 400
    assert response.json()["detail"] == expected


@pytest.mark.django_db
def test_api_confirm_details_are_russian(client, flashcall_outbox):
    client.post(
        "/api/flashcall/request/", {"phone": "+79123456789"}, content_type="application/json"
    )
    response = client.post(
        "/api/flashcall/confirm/",
        {"phone": "+79123456789", "code": wrong(flashcall_outbox[-1].code)},
        content_type="application/json",
        **RU,
    )
    assert response.json()["detail"] == "Неверный код."
    response = client.post(
        "/api/flashcall/confirm/",
        {"phone": "+79124444444", "code": "1234"},
        content_type="application/json",
        **RU,
    )
    assert response.json()["code"] == "no_active_attempt"
    assert response.json()["detail"].startswith("Для этого номера нет ожидающего звонка")
    response = client.post("/api/flashcall/confirm/", b"[1", content_type="application/json", **RU)
    assert response.json()["detail"] == "Тело запроса должно быть JSON-объектом."


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.code)
def test_every_error_detail_is_translated(error):
    with translation.override("en"):
        english = str(error.default_detail)
    with translation.override("ru"):
        russian = str(error.default_detail)
    assert russian != english
    assert re.search("[а-яА-ЯёЁ]", russian)


def test_model_names_and_choices_are_translated():
    with translation.override("ru"):
        assert str(CallAttempt._meta.verbose_name) == "попытка звонка"
        assert str(CallAttempt._meta.verbose_name_plural) == "попытки звонков"
        assert str(PhoneNumber._meta.verbose_name) == "номер телефона"
        assert str(CallAttempt._meta.get_field("phone").verbose_name) == "телефон"
        assert str(Status.VERIFIED.label) == "подтверждена"
        for field in CallAttempt._meta.get_fields():
            name = getattr(field, "verbose_name", None)
            if name and field.name not in ("id", "code_hash", "user_agent"):
                assert re.search("[а-яё]", str(name)), field.name


# --------------------------------------------------------------------------- catalogs


@pytest.mark.parametrize("name", CATALOGS)
def test_every_msgid_has_a_russian_msgstr(name):
    po = read_po(CATALOGS[name] / "django.po")
    assert po.metadata["Language"] == "ru"
    forms = nplurals(po)
    found = messages(po)
    assert found
    problems = []
    for e in found:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {e.msgid!r}")
        expected = forms if e.msgid_plural else 1
        texts = translations(e)
        if len(texts) != expected or not all(t.strip() for t in texts):
            problems.append(f"untranslated: {e.msgid!r}")
        for translated in texts:
            source = e.msgid_plural or e.msgid
            named = sorted(set(re.findall(r"%\(\w+\)[sd]", source)))
            if sorted(set(re.findall(r"%\(\w+\)[sd]", translated))) != named:
                problems.append(f"placeholders differ: {e.msgid!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CATALOGS)
def test_mo_is_compiled_from_the_po(name):
    """The shipped .mo holds exactly the .po's translations (compilemessages was run)."""
    po = read_po(CATALOGS[name] / "django.po")
    with open(CATALOGS[name] / "django.mo", "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    expected: dict = {}
    for e in messages(po):
        if "fuzzy" in e.flags:
            continue
        if e.msgid_plural:
            for i, text in enumerate(translations(e)):
                expected[(catalog_key(e), i)] = text
        else:
            expected[catalog_key(e)] = e.msgstr
    compiled = {k: v for k, v in catalog.items() if k != ""}
    assert compiled == expected


@pytest.mark.parametrize("name", CATALOGS)
def test_po_is_valid_for_msgfmt(name, tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed")
    po = CATALOGS[name] / "django.po"
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", str(tmp_path / "x.mo"), str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "name, source",
    [("app", APP), ("example", ROOT / "example_project")],
)
def test_po_covers_every_marked_string(name, source, tmp_path):
    """``makemessages`` on the current source adds no msgid the .po lacks."""
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext (gettext) is not installed")
    copy = tmp_path / source.name
    shutil.copytree(
        source,
        copy,
        ignore=shutil.ignore_patterns("locale", "__pycache__", "*.sqlite3", "static"),
    )
    (copy / "locale").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ru", "--no-obsolete"],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr
    fresh = {e.msgid for e in messages(read_po(copy / "locale/ru/LC_MESSAGES/django.po"))}
    shipped = {e.msgid for e in messages(read_po(CATALOGS[name] / "django.po"))}
    missing = sorted(fresh - shipped)
    assert not missing, (
        f"run `django-admin makemessages -l ru` in {source.name}/, translate, "
        f"and compilemessages; new strings: {missing}"
    )
