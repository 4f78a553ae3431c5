"""Read statements built by the ORM once per shape and run with each request's values.

A list page's query is the same SQL every time for a given shape (which filters, which tier,
how many rows); only the values differ. Building and compiling it (forty columns, geo
expressions, a subquery) cost more than PostgreSQL took to plan and run it: the community feed's
page at 1M listings took 7.3-7.8 ms in process through the ORM and 3.2-3.6 ms compiled once
(docs/catalog.md). So a statement is built with ``Param`` placeholders where the values go,
compiled by the ORM once per process and shape, and each run binds its values.

Nothing is prepared on the server. The values are bound on the client (Django's default psycopg
cursor interpolates them into the statement text), so PostgreSQL plans every run for its own
point, radius and page size, exactly as the ORM's own queries are planned: no generic plan can
settle in. The statements run through ``connection.cursor()``, so query counting, execute
wrappers (metrics) and error wrapping see them like any other query.

The ORM still writes all of the SQL and its row converters (JSON columns and the like) are
applied as ``values()`` applies them; a PostGIS test compares the rows with the ORM's own for
every shape the community feed uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.core.signals import setting_changed
from django.db import connections
from django.db.models import Expression, Field, QuerySet
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


class _Slot:
    __slots__ = ("field", "name")

    def __init__(self, name: str, field: Field) -> None:
        self.name, self.field = name, field


class CompiledQuery:
    """A sliced ``values()`` queryset compiled once; ``rows(values)`` runs it with ``values``
    for its ``Param``s and gives the rows as ``values()`` would (dicts, converted)."""

    def __init__(self, queryset: QuerySet[Any, Any], *, using: str = "default") -> None:
        query = queryset.query
        if not (query.values_select or query.annotation_select):
            raise ValueError("CompiledQuery runs values() querysets.")
        self.using = using
        compiler = query.get_compiler(using=using)
        self.sql, params = compiler.as_sql()
        self.params = tuple(params)
        select = [expression for expression, _sql, _alias in compiler.select]
        self.names = tuple(alias for _expression, _sql, alias in compiler.select)
        if len(set(self.names)) != len(self.names) or None in self.names:
            raise ValueError("Every selected column of a compiled statement needs its own name.")
        self.converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(select).items()
        )
        self.slots = frozenset(param.name for param in self.params if isinstance(param, _Slot))

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters with ``values`` in its slots, each adapted as its field
        adapts a value (a point becomes PostGIS's geography literal, say)."""
        missing = self.slots.difference(values)
        if missing:
            raise KeyError(f"No value for {', '.join(sorted(missing))}.")
        connection = connections[self.using]
        adapted: dict[str, Any] = {}  # a value used several times is adapted once
        params = []
        for param in self.params:
            if isinstance(param, _Slot):
                if param.name not in adapted:
                    adapted[param.name] = param.field.get_db_prep_value(values[param.name], connection, prepared=False)
                param = adapted[param.name]
            params.append(param)
        return params

    def rows(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        connection = connections[self.using]
        params = self.bind(values)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        names, converters = self.names, self.converters
        if not converters:
            return [dict(zip(names, row, strict=False)) for row in fetched]
        out = []
        for row in fetched:
            row = list(row)
            for position, convs, expression in converters:
                value = row[position]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[position] = value
            out.append(dict(zip(names, row, strict=False)))
        return out


_statements: dict[tuple[str, Hashable], CompiledQuery] = {}
_lock = threading.Lock()
# Shapes are few (a handful per list endpoint); the bound keeps a bug from growing it forever.
MAX_STATEMENTS = 1024


def statement(key: Hashable, build: Callable[[], QuerySet[Any, Any]], *, using: str = "default") -> CompiledQuery:
    """The statement for ``key`` (a shape: everything about the query but its values), built by
    ``build`` and compiled on first use in this process."""
    found = _statements.get((using, key))
    if found is None:
        found = CompiledQuery(build(), using=using)
        with _lock:
            if len(_statements) >= MAX_STATEMENTS:
                _statements.clear()
            _statements[(using, key)] = found
    return found


def forget() -> None:
    """Drop every compiled statement (they are rebuilt on next use)."""
    with _lock:
        _statements.clear()


@receiver(setting_changed)
def _forget_on_setting_changed(**kwargs: Any) -> None:
    # A test may change what a statement is built from (a setting read while building it).
    forget()
