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

from collections.abc import Mapping
from typing import Any

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
    """A ``values()`` queryset compiled once; ``bind`` gives its rows for a set of slot values."""

    def __init__(self, queryset: QuerySet, using: str = "default") -> None:
        if queryset.query.is_sliced:
            raise ValueError("Prepare the queryset unsliced; slice what bind() returns.")
        self.using = using
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
        with connection.cursor() as cursor:
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
