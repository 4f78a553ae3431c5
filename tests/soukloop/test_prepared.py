"""soukloop.prepared: querysets compiled once, run with each call's values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Point
from django.db.models import CharField, DecimalField

from catalog.models import Product
from soukloop.prepared import PreparedQuery, Slot
from tests.factories import DEIRA, DUBAI_MARINA, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db


def _by_category_and_price() -> PreparedQuery:
    qs = (
        Product.objects.filter(category=Slot("category", CharField()), price__lte=Slot("cap", DecimalField()))
        .order_by("price")
        .values("id", "price", "tags", "created_at")
    )
    return PreparedQuery(qs)


def test_each_call_binds_its_own_values_and_rows_read_like_values():
    seller = SellerFactory()
    book = ProductFactory(seller=seller, category="books", price=Decimal("40.00"), tags=["novel"])
    dear_book = ProductFactory(seller=seller, category="books", price=Decimal("400.00"))
    toy = ProductFactory(seller=seller, category="kids_baby", price=Decimal("30.00"))
    prepared = _by_category_and_price()

    books = prepared.bind({"category": "books", "cap": Decimal("1000")})[0:10]
    cheap_toys = prepared.bind({"category": "kids_baby", "cap": Decimal("50")})[0:10]

    assert [row["id"] for row in books] == [book.pk, dear_book.pk]
    assert [row["id"] for row in cheap_toys] == [toy.pk]
    # converted like values() converts them: Decimal, list from JSON, aware datetime
    expected = Product.objects.filter(pk=book.pk).values("id", "price", "tags", "created_at").get()
    assert books[0] == expected
    assert books[0]["tags"] == ["novel"] and books[0]["price"] == Decimal("40.00")


def test_slices_page_through_the_rows():
    seller = SellerFactory()
    made = [ProductFactory(seller=seller, category="books", price=Decimal(p)) for p in ("10", "20", "30", "40")]
    bound = _by_category_and_price().bind({"category": "books", "cap": Decimal("100")})
    assert [row["id"] for row in bound[1:3]] == [made[1].pk, made[2].pk]
    assert [row["id"] for row in bound[3:10]] == [made[3].pk]
    assert bound[5:9] == []


def test_a_geometry_slot_takes_a_point(django_assert_num_queries):
    seller = SellerFactory()
    marina = ProductFactory(seller=seller, location=Point(*DUBAI_MARINA, srid=4326))
    ProductFactory(seller=seller, location=Point(*DEIRA, srid=4326))
    point_field = GeometryField(srid=4326, geography=True)
    qs = Product.objects.filter(location__dwithin=(Slot("point", point_field), 2000)).values("id")
    prepared = PreparedQuery(qs)
    with django_assert_num_queries(1):
        rows = prepared.bind({"point": Point(*DUBAI_MARINA, srid=4326)})[0:10]
    assert rows == [{"id": marina.pk}]


def test_a_missing_value_is_an_error_not_a_null():
    with pytest.raises(KeyError, match="cap"):
        _by_category_and_price().bind({"category": "books"})


def test_only_unsliced_values_querysets_are_prepared():
    with pytest.raises(ValueError, match="unsliced"):
        PreparedQuery(Product.objects.values("id")[:5])
    with pytest.raises(ValueError, match="values"):
        PreparedQuery(Product.objects.filter(price=1))
