"""Querysets compiled once and run many times with different values: the list hot path.

Building and compiling a list queryset (thirty columns, geo and text expressions) cost a
good part of a list request, and it is the same SQL every time; only the values differ. A
queryset built with ``Slot`` placeholders instead of values is compiled once by
``PreparedQuery`` (the ORM still writes all of the SQL), and each request binds its values
and runs it on a plain cursor: no queryset cloning, no compiling, no model instances.

    prepared = PreparedQuery(Product.objects.filter(category=Slot("category", CharField())).values("id"))
    rows = prepared.bind({"category": "books"})[0:20]  # list of dicts, like values()

Values are adapted as the slot's field would adapt them (``get_db_prep_value``), so a
geometry slot takes a GEOS point and a datetime slot an aware datetime.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Expression, Field, QuerySet


class Slot(Expression):
    """A named value of a prepared query; compiles to a placeholder bound at run time."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"

    @property
    def identity(self) -> tuple[Any, ...]:
        return (Slot, self.name, type(self.output_field))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        field = self.output_field
        placeholder = field.get_placeholder(None, compiler, connection) if hasattr(field, "get_placeholder") else "%s"
        return placeholder, [_SlotParam(self.name, field)]


class _SlotParam:
    __slots__ = ("field", "name")

    def __init__(self, name: str, field: Field) -> None:
        self.name, self.field = name, field


class PreparedQuery:
    """A ``values()`` queryset compiled once; ``bind`` gives its rows for a set of slot values.

    ``server_side``: on PostgreSQL, run it with server-side binding as a prepared statement
    (prepared on its first run on a connection; psycopg keeps up to ``prepared_max`` a
    connection), so PostgreSQL stops planning it each time (0.5-1.3 ms of a list query).
    Only for queries whose best plan does not depend on the values (a KNN index walk, say):
    a prepared statement may settle on a generic plan. Off everywhere with
    ``DB_SERVER_PREPARED_STATEMENTS=false`` (e.g. behind a pooler that cannot keep prepared
    statements).
    """

    def __init__(self, queryset: QuerySet, using: str = "default", *, server_side: bool = False) -> None:
        if queryset.query.is_sliced:
            raise ValueError("Prepare the queryset unsliced; slice what bind() returns.")
        self.using, self.server_side = using, server_side
        connection = connections[using]
        compiler = queryset.query.get_compiler(using=using, connection=connection)
        self.sql, self.params = compiler.as_sql(with_limits=False)
        query = queryset.query
        if not query.values_select and not query.annotation_select:
            raise ValueError("PreparedQuery runs values() querysets.")
        # The row's column names, as ``ValuesIterable`` reads them.
        if query.selected:
            self.names = list(query.selected)
        else:
            self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        # One entry per column that needs converting: (position, converters, expression).
        select = [expression for expression, _sql, _alias in compiler.select][: len(self.names)]
        self.converters = [
            (position, convs, expression) for position, (convs, expression) in compiler.get_converters(select).items()
        ]
        self.slots = sorted({param.name for param in self.params if isinstance(param, _SlotParam)})

    def bind(self, values: Mapping[str, Any]) -> BoundQuery:
        missing = [name for name in self.slots if name not in values]
        if missing:
            raise KeyError(f"No value for slot(s) {', '.join(missing)}")
        connection = connections[self.using]
        adapted: dict[str, Any] = {}  # a slot used several times is adapted once
        params = []
        for param in self.params:
            if isinstance(param, _SlotParam):
                if param.name not in adapted:
                    adapted[param.name] = param.field.get_db_prep_value(values[param.name], connection, prepared=False)
                param = adapted[param.name]
            params.append(param)
        return BoundQuery(self, params)


@contextlib.contextmanager
def _server_side_cursor(connection: Any) -> Iterator[Any]:
    """What ``connection.cursor()`` gives (health check, error wrapping, query logging for
    ``assertNumQueries``), over a server-side binding psycopg cursor instead of Django's
    client-side one."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        pg = connection.connection
        if pg.prepare_threshold is None:
            # Django turns preparing off (None); only this cursor asks for it (prepare=True),
            # the automatic kind stays off with a threshold never reached.
            pg.prepare_threshold = 2**31
        raw = _preparing_cursor_class()(pg)
        cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()


@functools.cache
def _preparing_cursor_class() -> type:
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        """Prepares every statement it runs (Django's cursor wrapper does not pass
        ``prepare``); psycopg keeps up to ``prepared_max`` of them per connection."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, **{k: v for k, v in kwargs.items() if k != "prepare"})

    return PreparingCursor


def _c_datetimes(cursor: Any) -> None:
    """Load timestamps with psycopg's C loader: Django registers a pure-Python subclass (to
    pin the time zone, which is the connection's, UTC, either way) that cost ~7 us a value,
    three a row."""
    global _C_TIMESTAMPTZ
    if _C_TIMESTAMPTZ is None:
        import psycopg

        _C_TIMESTAMPTZ = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, psycopg.pq.Format.TEXT)
    cursor.adapters.register_loader("timestamptz", _C_TIMESTAMPTZ)


_C_TIMESTAMPTZ: Any = None


class BoundQuery:
    """A prepared query with its values: slice it (``[start:stop]``) to run it."""

    def __init__(self, prepared: PreparedQuery, params: list[Any]) -> None:
        self.prepared, self.params = prepared, params

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        if not isinstance(item, slice) or item.stop is None or (item.step or 1) != 1:
            raise TypeError("A bound query takes a bounded slice.")
        start = max(0, item.start or 0)
        limit = max(0, item.stop - start)
        prepared = self.prepared
        connection = connections[prepared.using]
        if prepared.server_side and connection.vendor == "postgresql" and settings.DB_SERVER_PREPARED_STATEMENTS:
            with _server_side_cursor(connection) as cursor:
                _c_datetimes(cursor.cursor)
                cursor.execute(f"{prepared.sql} LIMIT %s OFFSET %s", [*self.params, limit, start])
                rows = cursor.fetchall()
        else:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    _c_datetimes(cursor.cursor)
                cursor.execute(f"{prepared.sql} LIMIT {int(limit)} OFFSET {int(start)}", self.params)
                rows = cursor.fetchall()
        names = prepared.names
        if not prepared.converters:
            return [dict(zip(names, row, strict=False)) for row in rows]
        result = []
        for row in rows:
            values = list(row)
            for position, convs, expression in prepared.converters:
                value = values[position]
                for convert in convs:
                    value = convert(value, expression, connection)
                values[position] = value
            result.append(dict(zip(names, values, strict=False)))
        return result
