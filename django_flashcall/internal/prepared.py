"""ORM queries compiled once per database connection, then run as plain SQL.

Django builds a query anew on every call: ``filter()`` clones it, resolves
each lookup (``add_q`` → ``build_filter``) and compiles it again, which on
the request path cost several times what running it does. The few queries
there are fixed in shape; only their values change. Each is written once
with the ORM, so its SQL is Django's own for every backend, and compiled on
its first use on a connection. Later calls run that SQL with the new values,
adapted by the model fields just as the ORM adapts them, and rows come back
through the same converters (SQLite's datetimes, for one).

Only SQL text and where the values go are kept, never a value or a row:
every call runs its statement. The statements go through Django's cursor,
so query counting, ``execute_wrapper`` and DEBUG's query log see them.

On PostgreSQL each statement is also prepared on the server, once per
connection (:mod:`.server_prepared`): PostgreSQL then parses and plans it
once instead of on every call, which was most of its work for these
statements.

How the values are found in the compiled query: the builder is called with
sentinels (one unlikely value per parameter, of the field's type), and each
sentinel is looked for, as the field adapts it, among the compiled
parameters. A parameter that is not found exactly where expected is a bug
here, raised at the first use, never a silently wrong query.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.models.sql.subqueries import UpdateQuery

from . import server_prepared

_EPOCH = datetime(2001, 2, 3, 4, 5, 6)


def _sentinel(field: models.Field, index: int) -> Any:
    """A value of ``field``'s type that no constant in a query will equal."""
    field = getattr(field, "target_field", field)  # a ForeignKey: its target's type
    if isinstance(field, models.DateTimeField):
        value = _EPOCH + timedelta(microseconds=7919 * (index + 1))
        return value.replace(tzinfo=UTC) if settings.USE_TZ else value
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=0xF1A5C0DE << 64 | index)
    if isinstance(field, models.IntegerField | models.AutoField):
        # Within a small integer's range: Django drops a lookup on a value
        # the column cannot hold (an always true or false condition).
        return 30_011 + index
    if isinstance(field, models.CharField | models.TextField):
        return f"__flashcall_param_{index}__"
    raise TypeError(f"no sentinel for {type(field).__name__}")


class _Plan:
    """One query compiled for one connection."""

    __slots__ = ("columns", "converters", "params", "server", "slots", "sql", "usable")

    def __init__(self, sql: str, params: list[Any], slots: list[tuple[int, str, Any]]) -> None:
        self.sql = sql
        # Its server-side prepared form (PostgreSQL), set on first use.
        self.server: server_prepared.Statement | None = None
        self.params = params
        # (position in params, parameter name, the field that adapts it)
        self.slots = slots
        self.columns = 0
        self.converters: list[tuple[int, list[Callable[..., Any]], Any]] = []
        self.usable = True  # False: a shape this module does not run; the ORM does

    def bind(self, connection: Any, values: dict[str, Any]) -> list[Any]:
        params = list(self.params)
        for position, name, field in self.slots:
            params[position] = field.get_db_prep_value(values[name], connection, prepared=False)
        return params

    def execute(self, cursor: Any, connection: Any, params: Sequence[Any]) -> None:
        """Run the statement on ``cursor`` with ``params`` (see :meth:`bind`)."""
        if connection.vendor != "postgresql":
            cursor.execute(self.sql, params)
            return
        if self.server is None:
            self.server = server_prepared.Statement(self.sql, len(params))
        self.server.execute(cursor, connection, params)

    def convert(self, rows: Sequence[Sequence[Any]], connection: Any) -> list[tuple[Any, ...]]:
        if not self.converters:
            return [tuple(row[: self.columns]) for row in rows]
        converted = []
        for row in rows:
            values = list(row[: self.columns])
            for position, functions, expression in self.converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            converted.append(tuple(values))
        return converted


class _Prepared:
    def __init__(self, build: Callable[..., Any], model: type[models.Model], **fields: str):
        self.build = build
        self.model = model
        # Parameter name → the model field (by name, or "field__on__relations")
        # whose adaptation its values get.
        self.fields = fields
        self._plans: weakref.WeakKeyDictionary[Any, _Plan] = weakref.WeakKeyDictionary()

    def _field(self, path: str) -> models.Field:
        model: Any = self.model
        *relations, name = path.split("__")
        for relation in relations:
            model = model._meta.get_field(relation).related_model
        return model._meta.pk if name == "pk" else model._meta.get_field(name)

    def _plan(self, connection: Any) -> _Plan:
        plan = self._plans.get(connection)
        if plan is None:
            plan = self._plans[connection] = self._compile(connection)
        return plan

    def _locate(
        self, sql: str, params: Sequence[Any], sentinels: dict[str, Any], connection: Any
    ) -> _Plan:
        slots = []
        for name, sentinel in sentinels.items():
            field = self._field(self.fields[name])
            adapted = field.get_db_prep_value(sentinel, connection, prepared=False)
            positions = [
                i for i, p in enumerate(params) if type(p) is type(adapted) and p == adapted
            ]
            if not positions:
                raise AssertionError(f"prepared query: parameter {name!r} not found in {sql!r}")
            slots += [(i, name, field) for i in positions]
        return _Plan(sql, list(params), slots)

    def _sentinels(self) -> dict[str, Any]:
        return {
            name: _sentinel(self._field(path), index)
            for index, (name, path) in enumerate(self.fields.items())
        }

    def _compile(self, connection: Any) -> _Plan:
        raise NotImplementedError


class PreparedSelect(_Prepared):
    """``build(**values)`` returns a ``values_list()`` queryset (sliced, if
    one row is wanted); :meth:`rows` runs it."""

    def __init__(
        self,
        build: Callable[..., models.QuerySet],
        model: type[models.Model],
        *,
        for_write: bool = False,
        **fields: str,
    ) -> None:
        super().__init__(build, model, **fields)
        self.for_write = for_write  # a lock (select_for_update): the writer's database

    def _compile(self, connection: Any) -> _Plan:
        sentinels = self._sentinels()
        queryset = self.build(**sentinels)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        plan = self._locate(sql, params, sentinels, connection)
        plan.columns = compiler.col_count
        expressions = [column for column, _, _ in compiler.select[: compiler.col_count]]
        plan.converters = [
            (position, functions, expression)
            for position, (functions, expression) in compiler.get_converters(expressions).items()
        ]
        return plan

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        alias = (router.db_for_write if self.for_write else router.db_for_read)(self.model)
        connection = connections[alias]
        plan = self._plan(connection)
        with connection.cursor() as cursor:
            plan.execute(cursor, connection, plan.bind(connection, values))
            rows = cursor.fetchall()
        return plan.convert(rows, connection)

    def instance(self, **values: Any) -> Any:
        """The first row as a model instance: the queryset must select
        :func:`every_column` of the model, in that order."""
        rows = self.rows(**values)
        if not rows:
            return None
        alias = (router.db_for_write if self.for_write else router.db_for_read)(self.model)
        return self.model.from_db(alias, every_column(self.model), rows[0])


class PreparedUpdate(_Prepared):
    """``build(**values)`` returns ``(queryset, {field: new value})``, as
    for ``queryset.update(**new)``; :meth:`run` runs it and returns the
    number of rows changed. Only plain fields and expressions on this one
    table: no related updates (which ``update()`` would run as more queries)."""

    def _compile(self, connection: Any) -> _Plan:
        sentinels = self._sentinels()
        queryset, new_values = self.build(**sentinels)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(new_values)
        if query.related_updates:
            raise AssertionError("prepared update: related updates are not supported")
        sql, params = query.get_compiler(connection=connection).as_sql()
        return self._locate(sql, params, sentinels, connection)

    def run(self, **values: Any) -> int:
        connection = connections[router.db_for_write(self.model)]
        plan = self._plan(connection)
        with connection.cursor() as cursor:
            plan.execute(cursor, connection, plan.bind(connection, values))
            return cursor.rowcount


def every_column(model: type[models.Model]) -> list[str]:
    """The attnames of ``model``'s concrete fields, in ``from_db`` order."""
    return [field.attname for field in model._meta.concrete_fields]
