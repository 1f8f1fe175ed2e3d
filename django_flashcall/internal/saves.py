"""Writes of one model instance as prepared statements (:mod:`.prepared`):
``insert()`` for ``save(force_insert=True)`` and ``save_fields()`` for
``save(update_fields=...)``, each compiled once per connection. Where
Django's own ``save()`` does more than one statement (pre_save/post_save
receivers, multi-table inheritance, a backend that needs more), the real
``save()`` runs instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connections, models, router
from django.db.models.signals import post_save, pre_save
from django.db.models.sql.subqueries import InsertQuery

from .prepared import PreparedUpdate, _Plan, _Prepared, _sentinel


def _has_save_receivers(model: type[models.Model]) -> bool:
    """Model.save() sends pre_save and post_save; with a receiver listening,
    the writes below go through save() itself, so the receiver still hears."""
    return pre_save.has_listeners(model) or post_save.has_listeners(model)


_INSERTS: dict[type[models.Model], _Prepared] = {}
_UPDATES: dict[tuple[type[models.Model], tuple[str, ...]], PreparedUpdate | None] = {}


class _PreparedInsert(_Prepared):
    """``INSERT`` of one row, its primary key returned."""

    def __init__(self, model: type[models.Model]) -> None:
        super().__init__(lambda: None, model)
        meta = model._meta
        self.columns = [
            f
            for f in meta.local_concrete_fields
            if f is not meta.auto_field and not getattr(f, "generated", False)
        ]
        # A str for a plain CharField or TextField is its own database value
        # on every backend (get_db_prep_save returns it as it is).
        self.plain = [(f, type(f) in (models.CharField, models.TextField)) for f in self.columns]

    def _compile(self, connection: Any) -> _Plan:
        query = InsertQuery(self.model)
        query.insert_values(self.columns, [self.model()])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [self.model._meta.pk]
        statements = compiler.as_sql()
        plan = _Plan(statements[0][0], [], [])
        # Anything but one statement with a plain %s per column (a backend
        # with RETURNING parameters, a column with its own placeholder) is
        # left to the ORM.
        meta = self.model._meta
        plan.usable = (
            not meta.parents  # multi-table inheritance: save() writes the parents first
            and len(statements) == 1
            and len(statements[0][1]) == len(self.columns)
            and statements[0][0].count("%s") == len(self.columns)
        )
        return plan

    def insert(self, obj: models.Model) -> None:
        alias = router.db_for_write(self.model, instance=obj)
        connection = connections[alias]
        plan = self._plan(connection)
        if not plan.usable or _has_save_receivers(self.model):
            obj.save(force_insert=True, using=alias)
            return
        params = [
            value if type(value) is str and plain else f.get_db_prep_save(value, connection)
            for f, plain in self.plain
            for value in (f.pre_save(obj, True),)
        ]
        meta = self.model._meta
        with connection.cursor() as cursor:
            plan.execute(cursor, connection, params)
            if connection.features.can_return_columns_from_insert:
                # Defined by the backends that can (not in the stubs' base class).
                ops: Any = connection.ops
                pk = ops.fetch_returned_insert_columns(cursor, ())[0]
            else:
                pk = connection.ops.last_insert_id(cursor, meta.db_table, str(meta.pk.column))
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias


def insert(obj: models.Model) -> None:
    """``obj.save(force_insert=True)`` for a new row, as one prepared
    statement (pre_save/post_save receivers, if any, get the real save)."""
    model = type(obj)
    plan = _INSERTS.get(model)
    if plan is None:
        plan = _INSERTS[model] = _PreparedInsert(model)
    plan.insert(obj)  # type: ignore[attr-defined]


def save_fields(obj: models.Model, fields: Sequence[str]) -> None:
    """``obj.save(update_fields=fields)`` as one prepared ``UPDATE`` by
    primary key (pre_save/post_save receivers, if any, get the real save)."""
    model = type(obj)
    key = (model, tuple(fields))
    if key not in _UPDATES:
        _UPDATES[key] = _update_by_pk(model, fields)
    update = _UPDATES[key]
    if update is None or _has_save_receivers(model):
        obj.save(update_fields=fields)
        return
    attnames = [_concrete(model, name).attname for name in fields]
    if not update.run(pk=obj.pk, **{name: getattr(obj, name) for name in attnames}):
        raise DatabaseError("Save with update_fields did not affect any rows.")


def _concrete(model: type[models.Model], name: str) -> models.Field:
    """The model field ``name`` (update_fields names only concrete fields)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _update_by_pk(model: type[models.Model], fields: Sequence[str]) -> PreparedUpdate | None:
    """None if a field's type has no sentinel here: the ORM saves those."""
    found = [_concrete(model, name) for name in fields]
    try:
        for index, field in enumerate(found):
            _sentinel(field, index)
    except TypeError:
        return None
    return PreparedUpdate(
        lambda pk, **values: (model._base_manager.filter(pk=pk), values),
        model,
        pk="pk",
        **{field.attname: field.name for field in found},
    )
