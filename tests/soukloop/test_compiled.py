"""soukloop.compiled: statements built by the ORM once per shape, run with each call's values."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.db.models import CharField, DecimalField, UUIDField
from django.test.utils import CaptureQueriesContext, override_settings

from catalog.models import Product
from soukloop import compiled
from tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("fresh_compiled_statements")]


def _by_category_cheaper_than() -> object:
    return (
        Product.objects.filter(
            category=compiled.Param("category", CharField()),
            price__lt=compiled.Param("below", DecimalField(max_digits=12, decimal_places=2)),
        )
        .order_by("price")
        .values("id", "title", "price", "image_urls", "attributes")[:10]
    )


def test_a_statement_runs_with_each_calls_values_and_converts_rows_as_values_does():
    # given listings in two categories, with JSON columns the ORM converts
    cheap = ProductFactory(category="books", price=Decimal("10.00"), attributes={"language": "ar"})
    ProductFactory(category="books", price=Decimal("90.00"))
    sofa = ProductFactory(category="furniture", price=Decimal("50.00"), image_urls=["http://x.test/a.jpg"])
    statement = compiled.statement("books-cheaper", _by_category_cheaper_than)
    # when the same statement runs with different values
    books = statement.rows({"category": "books", "below": Decimal("20")})
    furniture = statement.rows({"category": "furniture", "below": Decimal("100")})
    # then each run has its own rows, shaped as values() shapes them (JSON decoded)
    assert books == list(Product.objects.filter(pk=cheap.pk).values("id", "title", "price", "image_urls", "attributes"))
    assert books[0]["attributes"] == {"language": "ar"}
    assert [row["id"] for row in furniture] == [sofa.pk]
    assert furniture[0]["image_urls"] == ["http://x.test/a.jpg"]


def test_a_statement_is_compiled_once_per_key_and_rebuilt_after_a_settings_change():
    built = []

    def build():
        built.append(1)
        return _by_category_cheaper_than()

    first = compiled.statement("k", build)
    assert compiled.statement("k", build) is first
    assert len(built) == 1
    with override_settings(COMMUNITY_RADIUS_KM=3):
        assert compiled.statement("k", build) is not first
    assert len(built) == 2


def test_a_missing_value_is_refused_before_anything_runs():
    statement = compiled.statement("k", _by_category_cheaper_than)
    with CaptureQueriesContext(connection) as queries, pytest.raises(KeyError, match="below"):
        statement.rows({"category": "books"})
    assert queries.captured_queries == []


def test_values_are_bound_on_the_client_never_prepared_on_the_server():
    ProductFactory(category="books", price=Decimal("10.00"))
    statement = compiled.statement("k", _by_category_cheaper_than)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(8):
            statement.rows({"category": "books", "below": Decimal("20")})
    # then the values are in the statement PostgreSQL planned (client-side binding)...
    assert all("'books'" in query["sql"] for query in queries.captured_queries)
    # ...and nothing was prepared, so no run can fall back to a generic plan
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


def _by_id() -> object:
    return Product.objects.filter(pk=compiled.Param("id", UUIDField())).values("id", "title", "price", "attributes")


def _prepared_runs() -> list[tuple[str, int, int]]:
    """This connection's prepared statements: (text, generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


def test_a_statement_keyed_by_id_is_prepared_once_and_planned_generically_after_that():
    # given listings, and a statement that reads one by its id (no value a plan could weigh)
    listings = [ProductFactory(attributes={"n": i}) for i in range(8)]
    statement = compiled.statement("by-id", _by_id, prepared=True)
    # when it runs for each of them on one connection
    with CaptureQueriesContext(connection) as queries:
        rows = [statement.rows({"id": listing.pk}) for listing in listings]
    # then each run has its own listing's row, as values() reads it
    for listing, found in zip(listings, rows, strict=True):
        assert found == list(Product.objects.filter(pk=listing.pk).values("id", "title", "price", "attributes"))
    # and the server prepared it once and ran it eight times, past the first five custom plans
    # on the generic plan: planning skipped (PostgreSQL's own choice for a primary-key lookup)
    ((text, generic, custom),) = _prepared_runs()
    assert text == statement.sql.replace("%s", "$1")  # the one placeholder, numbered by psycopg
    assert generic + custom == 8
    assert generic >= 1
    # and query logging still sees every run with its value, as for any other statement
    assert len(queries.captured_queries) == 8
    assert all(
        listing.pk.hex in query["sql"] for listing, query in zip(listings, queries.captured_queries, strict=True)
    )


def test_statements_not_marked_prepared_stay_client_bound_beside_a_prepared_one():
    ProductFactory(category="books", price=Decimal("10.00"))
    by_id = compiled.statement("by-id", _by_id, prepared=True)
    cheaper = compiled.statement("k", _by_category_cheaper_than)
    for _ in range(6):
        by_id.rows({"id": uuid.uuid4()})
        cheaper.rows({"category": "books", "below": Decimal("20")})
    # then only the statement keyed by id was prepared
    assert [text for text, *_ in _prepared_runs()] == [by_id.sql.replace("%s", "$1")]


def test_with_prepared_statements_off_nothing_is_prepared():
    # given the connection as DB_PREPARED_STATEMENTS=false leaves it (psycopg's threshold None)
    listing = ProductFactory()
    connection.ensure_connection()
    raw = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        statement = compiled.statement("by-id", _by_id, prepared=True)
        for _ in range(6):
            assert [row["id"] for row in statement.rows({"id": listing.pk})] == [listing.pk]
        # then it ran client-bound: nothing prepared
        assert _prepared_runs() == []
    finally:
        raw.prepare_threshold = threshold


def test_a_rollback_drops_the_prepared_statements_and_the_next_run_prepares_again():
    listing = ProductFactory()
    statement = compiled.statement("by-id", _by_id, prepared=True)
    statement.rows({"id": listing.pk})
    assert len(_prepared_runs()) == 1
    # when a savepoint rolls back (psycopg deallocates what it prepared on any ROLLBACK)
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    # then the statement still runs, with its rows, prepared afresh
    assert [row["id"] for row in statement.rows({"id": listing.pk})] == [listing.pk]
    assert len(_prepared_runs()) == 1


def test_a_prepared_statements_database_error_is_djangos():
    # errors come through Django's wrapper like any other query's: a view's handler sees them
    with pytest.raises(DataError), compiled.cursor(prepared=True) as cursor:
        cursor.execute("SELECT 1 / %s", [0])


@pytest.mark.parametrize(
    ("use_tz", "time_zone"), [(True, "UTC"), (False, "Asia/Dubai")], ids=["utc-aware", "naive-dubai"]
)
def test_a_prepared_cursor_reads_times_as_djangos_own_cursor_does(use_tz, time_zone):
    sql = "SELECT %s::timestamptz"
    value = "2026-12-05 10:00:00+00"
    with override_settings(USE_TZ=use_tz, TIME_ZONE=time_zone):
        with connection.cursor() as plain:
            plain.execute(sql, [value])
            djangos = plain.fetchone()[0]
        with compiled.cursor(prepared=True) as prepared:
            prepared.execute(sql, [value])
            ours = prepared.fetchone()[0]

    assert ours == djangos and ours.tzinfo is djangos.tzinfo
