"""The list pages compiled once per shape (PostGIS) give the ORM's rows, for each caller's values."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from catalog import selectors
from catalog.models import Product, ProductLike
from soukloop import compiled
from tests.factories import DEIRA, DUBAI_MARINA, JLT, ProductFactory, SellerFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("fresh_compiled_statements")]


@pytest.fixture
def listings() -> list[Product]:
    """A spread of listings: categories, conditions, prices, places, feeds, one sold, one hidden."""
    sellers = [SellerFactory(username=f"seller{i}") for i in range(3)]
    made = []
    for i, (category, condition, feed) in enumerate(
        itertools.product(["sneakers", "electronics"], ["new", "like_new"], ["discover", "community"])
    ):
        for j in range(3):
            made.append(
                ProductFactory(
                    seller=sellers[(i + j) % 3],
                    category=category,
                    condition=condition,
                    feed_type=feed,
                    price=Decimal(50 + 37 * ((i * 3 + j) % 11)),
                    location=Point(DUBAI_MARINA[0] + 0.002 * j + 0.0007 * i, DUBAI_MARINA[1] + 0.001 * i, srid=4326),
                    neighborhood="Dubai Marina" if j else "Jumeirah Lake Towers",
                    attributes={"brand": "Nike"} if category == "sneakers" else {},
                )
            )
    made.append(ProductFactory(location=Point(*DEIRA, srid=4326), feed_type="community", neighborhood="Deira"))
    Product.objects.filter(pk=made[0].pk).update(is_available=False, sold_at=timezone.now())
    Product.objects.filter(pk=made[1].pk).update(deleted_at=timezone.now())
    return made


def _orm_page(args: dict, *, ordering: str, include_sold: bool, user, start: int, stop: int) -> list[dict]:
    qs = selectors.search_products(
        selectors.product_rows(user=user, include_sold=True), args, ordering=ordering, include_sold=include_sold
    )
    return list(qs[start:stop])


SEARCHES = [
    {},
    {"category": "electronics"},
    {"category": "sneakers", "condition": "new", "feed_type": "community"},
    {"min_price": Decimal("100"), "max_price": Decimal("300")},
    {"point": Point(*JLT, srid=4326), "metres": 2500.0},
    {"point": Point(*DUBAI_MARINA, srid=4326), "metres": 800.0, "category": "sneakers"},
]


@pytest.mark.parametrize("args", SEARCHES)
def test_a_compiled_search_page_is_the_orms_page(listings, args):
    fan = UserFactory()
    ProductLike.objects.create(user=fan, product=listings[5])
    seller = listings[3].seller
    for extra in ({}, {"seller_id": seller.pk}, {"seller_username": seller.username.upper()}):
        search = {**args, **extra}
        orderings = ["newest", "price", "-price", "popular"] + (["distance"] if "point" in search else [])
        for ordering, include_sold, user, (start, stop) in itertools.product(
            orderings, (False, True), (None, fan), ((0, 5), (4, 9))
        ):
            source = selectors.search_page_source(dict(search), ordering=ordering, include_sold=include_sold, user=user)
            assert isinstance(source, selectors.CompiledSearch)
            expected = _orm_page(
                search, ordering=ordering, include_sold=include_sold, user=user, start=start, stop=stop
            )
            # the same dicts as values() gives: every column, converted alike (JSON decoded)
            assert source[start:stop] == expected, (search, ordering, user)


def test_one_compiled_search_serves_every_caller_with_their_own_values(listings):
    # given two people who liked different listings, and two places
    ana, ben = UserFactory(), UserFactory()
    ProductLike.objects.create(user=ana, product=listings[2])
    ProductLike.objects.create(user=ben, product=listings[4])
    near = {"point": Point(*DUBAI_MARINA, srid=4326), "metres": 5000.0}
    far = {"point": Point(*DEIRA, srid=4326), "metres": 1000.0}
    # when both search both places through one statement
    pages = {
        (who, place): selectors.search_page_source(dict(args), ordering="distance", include_sold=False, user=user)[0:30]
        for (who, user), (place, args) in itertools.product(
            (("ana", ana), ("ben", ben)), (("near", near), ("far", far))
        )
    }
    # then each saw their own likes and each place its own listings
    assert {row["id"] for row in pages["ana", "near"] if row["is_liked"]} == {listings[2].pk}
    assert {row["id"] for row in pages["ben", "near"] if row["is_liked"]} == {listings[4].pk}
    assert [row["id"] for row in pages["ana", "far"]] == [listings[-1].pk]
    assert len(compiled._statements) == 1


def test_text_and_attribute_searches_read_their_rows_by_id_as_the_orm_did(listings):
    fan = UserFactory()
    ProductLike.objects.create(user=fan, product=listings[6])
    ids = [product.pk for product in listings]
    for user, include_sold in itertools.product((None, fan), (False, True)):
        compiled_rows = selectors.rows_by_ids(ids, user=user, include_sold=include_sold)
        orm_rows = selectors.product_rows(user=user, include_sold=include_sold).filter(pk__in=ids)
        key = lambda row: row["id"]  # noqa: E731
        assert sorted(compiled_rows, key=key) == sorted(orm_rows, key=key)
    # the hidden listing never, the sold one only when asked for
    assert listings[1].pk not in {row["id"] for row in selectors.rows_by_ids(ids, include_sold=True)}
    assert listings[0].pk not in {row["id"] for row in selectors.rows_by_ids(ids)}
    assert selectors.rows_by_ids([]) == []


@pytest.mark.parametrize("text", ["listing", "nike"])
def test_a_text_or_attribute_page_through_the_api_has_the_orms_rows(api_client, listings, text, monkeypatch):
    params = {"q": text} if text == "listing" else {"category": "sneakers", "attr.brand": "Nike"}
    compiled_page = api_client.get("/api/v1/products/", params).json()["results"]
    # the same page with the rows read through the ORM
    monkeypatch.setattr(
        selectors,
        "rows_by_ids",
        lambda ids, *, user=None, include_sold=False: list(
            selectors.product_rows(user=user, include_sold=include_sold).filter(pk__in=ids)
        ),
    )
    assert api_client.get("/api/v1/products/", params).json()["results"] == compiled_page
    assert len(compiled_page) == (10 if text == "nike" else 20)


def test_community_tiers_through_one_statement_keep_each_callers_likes_and_place(auth_client, listings):
    ana, ben = UserFactory(), UserFactory()
    ProductLike.objects.create(user=ana, product=listings[4])  # a community listing
    marina = {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "neighborhood": "Dubai Marina", "page_size": 50}
    pages = {
        name: auth_client(user).get("/api/v1/feeds/community/", marina).json()
        for name, user in (("ana", ana), ("ben", ben))
    }
    assert [item["id"] for item in pages["ana"]["results"] if item["is_liked"]] == [str(listings[4].pk)]
    assert not any(item["is_liked"] for item in pages["ben"]["results"])
    deira = auth_client(ben).get("/api/v1/feeds/community/", {"lat": DEIRA[1], "lng": DEIRA[0]}).json()
    assert [item["id"] for item in deira["results"]] == [str(listings[-1].pk)]


@pytest.mark.parametrize("stop", [1, 3, 21])
def test_a_text_pages_compiled_ids_are_the_orms_for_each_word(listings, stop):
    # given listings whose titles carry different words, in both languages
    for title in ("Nike Dunk Low", "ساعات ذكية سامسونج", "Pokémon Charizard holo", "ساعة رولكس قديمة"):
        ProductFactory(title=title, category="electronics" if "ساع" in title else "sneakers")
    searches = [
        {"q": "nike"},
        {"q": "ساعة"},
        {"q": "pokemon"},
        {"q": "ساعة", "category": "electronics"},
        {"q": "nike dunk"},
    ]
    for args in searches:
        source = selectors.search_page_source(dict(args), ordering="newest", include_sold=False)
        # when the ids come from the compiled statements (one per shape, whatever the words)...
        assert isinstance(source, selectors.TopMatches) and source.args is not None
        compiled_ids = source._ids(stop)
        # ...they are the ORM's, word for word
        source.args = None
        assert compiled_ids == source._ids(stop), args
        assert compiled_ids, args
    assert any(key[0] == "walk" and key[1][0] == "text" for key in compiled._statements)
