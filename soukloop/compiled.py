"""Read statements built by the ORM once per shape and run with each request's values.

A list page's query is the same SQL every time for a given shape (which filters, which tier,
how many rows); only the values differ. Building and compiling it (forty columns, geo
expressions, a subquery) cost more than PostgreSQL took to plan and run it: the community feed's
page at 1M listings took 7.3-7.8 ms in process through the ORM and 3.2-3.6 ms compiled once
(docs/catalog.md). So a statement is built with ``Param`` placeholders where the values go,
turned into SQL by the ORM once per process and shape (``Query.sql_with_params``), and each
run binds its values.

Most statements are planned for their own values. By default the values are bound on the client
(Django's default psycopg cursor interpolates them into the statement text), so PostgreSQL plans
every run for its own point, radius and page size, exactly as the ORM's own queries are planned:
no generic plan can settle in. The statements run through ``connection.cursor()``, so query
counting, execute wrappers (metrics) and error wrapping see them like any other query.

A statement whose best plan cannot depend on its values is marked ``prepared``: every value
names rows by key (listings by id, the person's own rows by their id) and the statement has no
point, radius, range, text or page size for a plan to weigh. On PostgreSQL it is sent with
server-side binding and prepared on the connection it runs on, so each run after the first skips
the parse and, once PostgreSQL settles on the generic plan (its own choice, after five custom
plans), the planning: at 1M listings the personalised Discover feed's signals statement spent
1.6-1.9 ms of its 2.8-3.9 ms in planning, the page's rows by id 1.1 of 2.2 ms (docs/catalog.md),
and now take 1.0-1.3 and 1.2-1.4 ms. It still runs
through Django's cursor wrapper (counted, wrapped, its errors Django's). ``DB_PREPARED_STATEMENTS``
(on by default) turns this off for a pooler that cannot carry prepared statements; elsewhere
(SpatiaLite) nothing is prepared.

Only the ORM's public surface is used: an ``Expression`` subclass for the placeholders, the
fields' ``get_db_prep_value`` to adapt a value and ``from_db_value`` to read one (the model's
fields, found by the column's ``values()`` name through ``_meta``), and the cursor's description
for the names. A PostGIS test compares the rows with the ORM's own for every shape the lists use.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db import connection
from django.db.models import Expression, Field, Model, QuerySet
from django.dispatch import receiver


class Param(Expression):
    """A named value of a compiled statement; compiles to a placeholder bound on each run."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    @property
    def identity(self) -> tuple[Any, ...]:
        return (Param, self.name, type(self.output_field))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [_Slot(self.name, self.output_field)]


def slot(name: str, output_field: Field) -> Any:
    """The parameter for a ``%s`` in hand-written SQL joined to a compiled statement: ``bind``
    fills it like a ``Param`` of the same name (adapted by ``output_field``)."""
    return _Slot(name, output_field)


class _Slot:
    __slots__ = ("field", "name")

    def __init__(self, name: str, field: Field) -> None:
        self.name, self.field = name, field


def bind(params: Sequence[Any], values: Mapping[str, Any]) -> list[Any]:
    """``params`` (the ORM's, for SQL with ``Param``s in it) with ``values`` in their slots, each
    adapted as its field adapts a value (a point becomes PostGIS's geography literal, a uuid 32
    hex digits on SQLite). A slot without a value is refused before anything runs."""
    missing = {param.name for param in params if isinstance(param, _Slot)}.difference(values)
    if missing:
        raise KeyError(f"No value for {', '.join(sorted(missing))}.")
    adapted: dict[str, Any] = {}  # a value used several times is adapted once
    bound = []
    for param in params:
        if isinstance(param, _Slot):
            if param.name not in adapted:
                adapted[param.name] = param.field.get_db_prep_value(values[param.name], connection, prepared=False)
            param = adapted[param.name]
        bound.append(param)
    return bound


def _field_at(model: type[Model], path: str) -> Field | None:
    """The model field a ``values()`` name reads (``seller__username`` follows the relation),
    or None for an annotation."""
    *relations, name = path.split("__")
    try:
        for relation in relations:
            model = model._meta.get_field(relation).related_model  # type: ignore[assignment]
            if model is None:
                return None
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, Field) else None


class CompiledQuery:
    """A sliced ``values()`` queryset turned into SQL once; ``rows(values)`` runs it with
    ``values`` for its ``Param``s and gives the rows as ``values()`` would (dicts, with each
    model field's ``from_db_value`` applied)."""

    def __init__(self, queryset: QuerySet[Any, Any], *, prepared: bool = False) -> None:
        self.model = queryset.model
        self.prepared = prepared
        self.sql, params = queryset.query.sql_with_params()
        self.params = tuple(params)
        # Read from the first run's cursor: the names (every column of a values() statement has
        # its own alias) and which of them a model field converts.
        self._names: tuple[str, ...] | None = None
        self._converters: tuple[tuple[int, Field], ...] = ()

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters with ``values`` in its slots (``bind``)."""
        return bind(self.params, values)

    def rows(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        params = self.bind(values)
        with cursor(prepared=self.prepared) as db:
            db.execute(self.sql, params)
            fetched = db.fetchall()
            if self._names is None:
                self._learn([column[0] for column in db.description])
        names, converters = self._names or (), self._converters
        if not converters:
            return [dict(zip(names, row, strict=True)) for row in fetched]
        out = []
        for row in fetched:
            item = dict(zip(names, row, strict=True))
            for position, field in converters:
                name = names[position]
                item[name] = field.from_db_value(item[name], None, connection)  # type: ignore[attr-defined]
            out.append(item)
        return out

    def _learn(self, names: list[str]) -> None:
        if len(set(names)) != len(names):
            raise ValueError("Every column of a compiled statement needs its own name.")
        converters = []
        for position, name in enumerate(names):
            field = _field_at(self.model, name)
            if field is not None and hasattr(field, "from_db_value"):
                converters.append((position, field))
        self._converters = tuple(converters)
        self._names = tuple(names)


_statements: dict[Hashable, CompiledQuery] = {}
_lock = threading.Lock()
# Shapes are few (a handful per list endpoint); the bound keeps a bug from growing it forever.
MAX_STATEMENTS = 1024


def statement(key: Hashable, build: Callable[[], QuerySet[Any, Any]], *, prepared: bool = False) -> CompiledQuery:
    """The statement for ``key`` (a shape: everything about the query but its values), built by
    ``build`` and turned into SQL on first use in this process. ``prepared``: its plan cannot
    depend on its values (see the module's note), so it is prepared on the server."""
    found = _statements.get(key)
    if found is None:
        found = CompiledQuery(build(), prepared=prepared)
        with _lock:
            if len(_statements) >= MAX_STATEMENTS:
                _statements.clear()
            _statements[key] = found
    return found


@contextlib.contextmanager
def cursor(*, prepared: bool = False) -> Iterator[Any]:
    """A cursor of the default connection, as ``connection.cursor()``. ``prepared``: what it runs
    is prepared on the server (server-side binding) when the connection allows it (PostgreSQL,
    ``DB_PREPARED_STATEMENTS``); only for statements whose plan cannot depend on their values."""
    if prepared and connection.vendor == "postgresql":
        # What ``connection.cursor()`` does, with a server-binding cursor in the wrapper.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        raw_connection = connection.connection
        if raw_connection.prepare_threshold is not None:  # None: ``DB_PREPARED_STATEMENTS`` is off
            connection.validate_thread_sharing()
            preparing, debug_wrapper = _preparing_classes()
            with connection.wrap_database_errors:
                raw = preparing(raw_connection)
            _read_times_as_django_does(raw, raw_connection)
            wrapped = debug_wrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
            with wrapped:
                yield wrapped
            return
    with connection.cursor() as plain:
        yield plain


def _read_times_as_django_does(raw: Any, raw_connection: Any) -> None:
    """Django's ``create_cursor`` gives a cursor its connection's time zone when the adapters
    disagree (``USE_TZ`` off, a database ``TIME_ZONE``): the same for the preparing cursor, so
    its datetimes are the ones any other query reads."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID  # type: ignore[attr-defined]
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    loader = raw_connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != getattr(loader, "timezone", None):
        register_tzloader(connection.timezone, raw)


@functools.cache
def _preparing_classes() -> tuple[type, type]:
    """Django's server-binding psycopg cursor, asking psycopg to prepare every statement it runs
    (Django's default cursor binds on the client and never prepares), and Django's debug wrapper
    for it, logging the statement with its values as for any other query (psycopg keeps no text
    of a prepared run for Django to read back). Built on first use: the module is imported on
    SpatiaLite too."""
    # defined by Django when psycopg 3 is installed (always, here); not in its type stubs
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        CursorDebugWrapper,
        ServerBindingCursor,
    )

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, **kwargs)

    class PreparedDebugWrapper(CursorDebugWrapper):
        def debug_sql(
            self, sql: Any = None, params: Any = None, use_last_executed_query: bool = False, many: bool = False
        ) -> Any:
            if use_last_executed_query and not many:
                sql = self.db.ops.compose_sql(sql, params)
            return super().debug_sql(sql, params, use_last_executed_query=False, many=many)

    return PreparingCursor, PreparedDebugWrapper


def forget() -> None:
    """Drop every compiled statement (they are rebuilt on next use)."""
    with _lock:
        _statements.clear()


@receiver(setting_changed)
def _forget_on_setting_changed(**kwargs: Any) -> None:
    # A test may change what a statement is built from (a setting read while building it).
    forget()
