"""PostgreSQL's ``timestamptz`` read by psycopg's C parser, as Django would read it.

Django (5.2) registers its own ``timestamptz`` loader on every psycopg connection so that a
value comes back in the connection's time zone (``UTC``). It derives from psycopg's pure-Python
loader, because psycopg's C loader cannot be subclassed (django ticket #36960, psycopg issue
#1273), so every datetime Django reads is parsed in Python: ~2.5 µs a value, 0.1-0.15 ms of a
20-listing page (two timestamps a row) against ~0.2 µs in C.

When the connection's session time zone is UTC (Django sets it to ``timezone_name``, ``UTC``
with ``USE_TZ`` and no database ``TIME_ZONE``), psycopg's C loader gives the same value Django's
does: the instant, with ``datetime.timezone.utc`` as its tzinfo. ``UtcTimestamptzLoader`` wraps
it and carries the ``timezone`` attribute Django's cursors compare with their connection's, so
they keep it; ``use_c_timestamptz`` (on ``connection_created``) registers it on the connection,
and only then: any other session time zone, no C implementation, or a loader someone else
registered keeps Django's.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.postgres import types as _pg_types
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader as _PythonTimestamptzLoader

UTC = datetime.UTC

_TIMESTAMPTZ_OID = _pg_types["timestamptz"].oid
# psycopg's own map holds the C loader when psycopg's C implementation is installed.
_C_LOADER: Any = psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
if _C_LOADER is _PythonTimestamptzLoader:  # pure-Python psycopg: nothing to gain
    _C_LOADER = None


class UtcTimestamptzLoader(Loader):
    """``timestamptz`` in text, parsed by psycopg's C loader (a UTC session only; registered by
    ``use_c_timestamptz`` only when that loader exists)."""

    timezone = UTC  # what Django's ``create_cursor`` compares with its connection's

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self.load = _C_LOADER(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Any) -> datetime.datetime:  # replaced per instance, above
        raise NotImplementedError


def use_c_timestamptz(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: read ``timestamptz`` with the C loader on a UTC PostgreSQL session."""
    if _C_LOADER is None or connection.vendor != "postgresql":
        return
    pg = connection.connection
    django_loader = pg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
    if (
        connection.timezone_name == "UTC"
        and connection.timezone == UTC
        and pg.info.parameter_status("TimeZone") == "UTC"
        and getattr(django_loader, "timezone", None) == UTC
        and django_loader.__module__.startswith("django.")
    ):
        pg.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
