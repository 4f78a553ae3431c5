"""soukloop.compiled: statements built by the ORM once per shape, run with each call's values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import CharField, DecimalField
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
