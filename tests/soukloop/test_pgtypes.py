"""soukloop.pgtypes: PostgreSQL's timestamptz read by psycopg's C parser, exactly as Django reads it."""

from __future__ import annotations

import datetime

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test.utils import override_settings
from django.utils import timezone

from catalog.models import Product
from soukloop.pgtypes import UtcTimestamptzLoader
from tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

UTC = datetime.UTC
# (timestamptz literal, the instant Django reads)
VALUES = [
    ("2026-12-05 10:00:00.123456+04", datetime.datetime(2026, 12, 5, 6, 0, 0, 123456, tzinfo=UTC)),
    ("2024-02-29 23:59:59.999999+00", datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
    ("2026-03-29 02:30:00 Europe/London", datetime.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    ("1900-03-01 00:00:00+05:53:28", datetime.datetime(1900, 2, 28, 18, 6, 32, tzinfo=UTC)),
    ("0001-01-01 00:00:00+00", datetime.datetime(1, 1, 1, tzinfo=UTC)),
    ("9999-12-31 23:59:59.999999+00", datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
]


def read(sql: str, *, djangos: bool = False) -> list[tuple]:
    with connection.cursor() as cursor:
        if djangos:  # Django's own loader, as it would be without soukloop.pgtypes
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(sql)
        return cursor.fetchall()


def test_django_cursors_keep_the_c_loader_the_connection_has():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, 0)  # timestamptz, text

    assert loader is UtcTimestamptzLoader


def test_every_value_is_the_instant_django_reads_with_utc_as_its_tzinfo():
    sql = "SELECT " + ", ".join(f"'{literal}'::timestamptz" for literal, _ in VALUES) + ", NULL::timestamptz"

    ours, djangos = read(sql)[0], read(sql, djangos=True)[0]

    assert list(ours) == list(djangos) == [expected for _, expected in VALUES] + [None]
    assert all(value.tzinfo is UTC for value in ours[:-1])
    assert [value.isoformat() for value in ours[:-1]] == [value.isoformat() for value in djangos[:-1]]


@pytest.mark.parametrize("literal", ["infinity", "-infinity", "10000-01-01 00:00+00"])
def test_what_python_cannot_hold_is_a_data_error_as_with_djangos_loader(literal):
    for djangos in (False, True):
        with pytest.raises(DataError):
            read(f"SELECT '{literal}'::timestamptz", djangos=djangos)


def test_the_orm_reads_a_listing_s_times_through_it():
    created = datetime.datetime(2026, 12, 5, 6, 30, 15, 250000, tzinfo=UTC)
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(created_at=created)

    row = Product.objects.values("created_at", "updated_at").get(pk=product.pk)

    assert row["created_at"] == created and row["created_at"].tzinfo is UTC
    assert timezone.is_aware(row["updated_at"])


def test_without_time_zone_support_django_s_own_loader_reads_naive_local_times():
    with override_settings(USE_TZ=False, TIME_ZONE="Asia/Dubai"):
        value = read("SELECT '2026-12-05 10:00:00+00'::timestamptz")[0][0]

    assert value == datetime.datetime(2026, 12, 5, 14, 0)  # Dubai's wall clock, no tzinfo
    assert read("SELECT '2026-12-05 10:00:00+00'::timestamptz")[0][0] == datetime.datetime(2026, 12, 5, 10, tzinfo=UTC)
