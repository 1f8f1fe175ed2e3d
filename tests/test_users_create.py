"""The user a new phone gets: Django's ``UserManager.create_user`` (the
stock manager's own object, saved by one prepared INSERT), or the site's
manager when it has its own ``create_user``."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import UserManager
from django.db.models.signals import pre_save

from django_flashcall.internal import users
from django_flashcall.internal.saves import insert
from django_flashcall.models import PhoneNumber
from tests.testapp.models import LongNote, Note

pytestmark = pytest.mark.django_db

User = get_user_model()
PHONE = "79244501003"
# Differ between any two users by design.
OWN = {"id", "password", "date_joined", "username"}


def test_a_new_phones_user_is_what_create_user_makes():
    made = users.create_for_phone(PHONE)
    reference = User.objects.create_user("reference", password=None)
    stored = User.objects.get(pk=made.pk)
    for field in User._meta.concrete_fields:
        if field.attname not in OWN:
            assert getattr(stored, field.attname) == getattr(reference, field.attname), field
    assert stored.username == PHONE
    assert not stored.has_usable_password()
    assert stored.password.startswith("!") and len(stored.password) == len(reference.password)
    assert stored.date_joined is not None
    assert PhoneNumber.objects.get(phone=PHONE).user_id == made.pk
    assert (made.pk, made._state.adding) == (stored.pk, False)


def test_a_sites_own_create_user_is_called(monkeypatch):
    called: list[dict[str, Any]] = []

    class SiteManager(UserManager):
        def create_user(self, username, email=None, password=None, **extra):
            called.append({"username": username, "password": password, **extra})
            return super().create_user(username, email, password, first_name="site", **extra)

    manager = SiteManager()
    manager.model = User
    monkeypatch.setattr(User._meta, "default_manager", manager)
    made = users.create_for_phone(PHONE)
    assert called == [{"username": PHONE, "password": None}]
    assert User.objects.get(pk=made.pk).first_name == "site"


def test_a_user_models_own_save_is_called(monkeypatch):
    saved = []
    original = User.save

    def save(self, *args, **kwargs):
        saved.append(self.username)
        original(self, *args, **kwargs)

    monkeypatch.setattr(User, "save", save)
    made = users.create_for_phone(PHONE)
    assert saved == [PHONE]
    assert User.objects.filter(pk=made.pk).exists()


def test_pre_save_receivers_of_the_user_model_hear_the_insert():
    heard = []

    def receiver(sender, instance, raw, **kwargs):
        heard.append((sender, instance.username, instance.pk))

    pre_save.connect(receiver, sender=User, weak=False)
    try:
        made = users.create_for_phone(PHONE)
    finally:
        pre_save.disconnect(receiver, sender=User)
    assert heard == [(User, PHONE, None)]
    assert User.objects.filter(pk=made.pk, username=PHONE).exists()


def test_a_model_with_a_parent_table_is_inserted_by_the_orm():
    """Multi-table inheritance (a site's user model may be a child of
    auth.User): save() writes the parent's row first; one prepared INSERT
    of the child's own columns would not."""
    made = LongNote(text="parent", more="child")
    insert(made)
    stored = LongNote.objects.get(pk=made.pk)
    assert (stored.text, stored.more) == ("parent", "child")
    assert Note.objects.filter(pk=made.pk, text="parent").exists()
