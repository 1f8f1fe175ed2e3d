"""Which user owns a phone; linking and creating users (SPEC §3, §4).

Two storage modes: the app's own ``PhoneNumber`` model (default), or a phone
field on a custom user model named by ``FLASHCALL_USER_PHONE_FIELD``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction

from ..conf import flashcall_settings
from ..exceptions import PhoneTaken
from ..models import PhoneNumber
from .clock import now
from .prepared import PreparedSelect, every_column
from .saves import insert


def _field() -> str | None:
    return flashcall_settings.USER_PHONE_FIELD


def owner_of(phone: str) -> AbstractBaseUser | None:
    """The user whose verified phone is ``phone`` (stored form), if any."""
    return _owner_query(get_user_model(), _field()).instance(phone=phone)


@lru_cache(maxsize=8)
def _owner_query(user_model: Any, field: str | None) -> PreparedSelect:
    """Every confirm asks this: compiled once per user model and phone field
    (internal/prepared.py)."""
    columns = every_column(user_model)
    if field:
        # As ``_default_manager.filter(...).first()``: the manager's own
        # filters apply; the model's ordering, else the primary key's.
        def build(phone: str) -> Any:
            users = user_model._default_manager.filter(**{field: phone})
            return (users if users.ordered else users.order_by("pk")).values_list(*columns)[:1]

        return PreparedSelect(build, user_model, phone=field)
    # As ``PhoneNumber → user`` (select_related: no manager filters the
    # user); the phone is unique, so one row at most.
    related = PhoneNumber._meta.get_field("user").related_query_name()
    return PreparedSelect(
        lambda phone: (
            user_model._base_manager.filter(**{f"{related}__phone": phone})
            .order_by()
            .values_list(*columns)[:1]
        ),
        user_model,
        phone=f"{related}__phone",
    )


def phone_of(user: Any) -> str | None:
    """The user's verified phone (the first, in PhoneNumber mode)."""
    field = _field()
    if field:
        return getattr(user, field, None) or None
    return PhoneNumber.objects.filter(user=user).values_list("phone", flat=True).first()


def attach(user: Any, phone: str) -> None:
    """Give ``phone`` to ``user``; ``PhoneTaken`` if someone else won it first."""
    field = _field()
    try:
        with transaction.atomic():
            if field:
                setattr(user, field, phone)
                user.save(update_fields=[field])
            else:
                PhoneNumber.objects.create(user=user, phone=phone, verified_at=now())
    except IntegrityError:
        raise PhoneTaken(reason="race") from None


def create_for_phone(phone: str) -> AbstractBaseUser:
    """A new user with no usable password, owning ``phone``.

    The username is the phone (or, if some account already holds that
    username, the phone and a timestamp): the insert is tried first and the
    IntegrityError tells, which saves a query on the usual path.
    """
    for username in (phone, f"{phone}-{now().strftime('%Y%m%d%H%M%S%f')}"):
        try:
            return _create(phone, username)
        except IntegrityError:
            # A concurrent confirm of the same phone created it: use theirs.
            existing = owner_of(phone)
            if existing is not None:
                return existing
    raise PhoneTaken(reason="username")


def _create(phone: str, username: str) -> AbstractBaseUser:
    User = get_user_model()
    field = _field()
    extra: dict[str, Any] = {}
    if field and field != User.USERNAME_FIELD:
        extra[field] = phone
    with transaction.atomic():
        manager = User._default_manager
        if not extra and manager._db is None and _stock_manager(manager, User):
            # What UserManager.create_user(username) does, with its save as
            # one prepared INSERT (receivers of pre_save/post_save, if any,
            # still get the real save()).
            user = manager._create_user_object(  # type: ignore[attr-defined]
                username, None, None, is_staff=False, is_superuser=False
            )
            insert(user)
        else:
            user = manager.create_user(**{User.USERNAME_FIELD: username}, password=None, **extra)
        if not field:
            insert(PhoneNumber(user=user, phone=phone, verified_at=now()))
    return user


def _stock_manager(manager: Any, user_model: Any) -> bool:
    """Whether ``manager.create_user`` is Django's own UserManager's and the
    model's ``save()`` is AbstractBaseUser's, unchanged (a site may override
    any step of them: they then run as they are)."""
    from django.contrib.auth.models import UserManager

    kind: Any = type(manager)
    stock: Any = UserManager
    return (
        user_model.save is AbstractBaseUser.save
        and kind.create_user is stock.create_user
        and kind._create_user is stock._create_user
        and getattr(kind, "_create_user_object", None) is not None
        and kind._create_user_object is getattr(stock, "_create_user_object", None)
    )


def resolve(phone: str, current: Any, *, create: bool) -> AbstractBaseUser | None:
    """The user a verified ``phone`` belongs to, linking or creating as needed.

    ``current`` is the logged-in user or None. A logged-in user gets an
    unowned phone; a phone owned by someone else is ``PhoneTaken``.
    """
    owner = owner_of(phone)
    if current is not None:
        if owner is not None and owner.pk != current.pk:
            raise PhoneTaken()
        if owner is None:
            attach(current, phone)
        return current
    if owner is not None:
        return owner
    return create_for_phone(phone) if create else None
