"""PostgreSQL-only behaviour: races with real threads, full-text + trigram search, index use."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection, connections
from django.utils import timezone

from catalog import selectors
from catalog.models import Product, ProductLike
from catalog.services import product_like, product_register_view
from tests.factories import DUBAI_MARINA, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.postgres


def run_in_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_detail_reads_lose_no_view():
    # given a listing
    product = ProductFactory()
    # when 8 threads each read it as 5 different viewers at once
    errors = run_in_threads(
        lambda i: [product_register_view(product=product, viewer=f"ip:10.0.{i}.{n}") for n in range(5)], 8
    )
    # then all 40 views are counted
    assert errors == []
    product.refresh_from_db()
    assert product.view_count == 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_by_the_same_person_count_once():
    product = ProductFactory()
    fan = UserFactory()
    errors = run_in_threads(lambda _i: product_like(product=product, user=fan), 8)
    assert errors == []
    product.refresh_from_db()
    assert product.like_count == 1
    assert ProductLike.objects.filter(product=product).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_by_different_people_all_count():
    product = ProductFactory()
    fans = [UserFactory() for _ in range(8)]
    errors = run_in_threads(lambda i: product_like(product=product, user=fans[i]), 8)
    assert errors == []
    product.refresh_from_db()
    assert product.like_count == 8


@pytest.mark.django_db
def test_typo_finds_yeezy_through_trigram_similarity(api_client):
    yeezy = ProductFactory(title="Yeezy Boost 350 V2", description="Zebra colourway.")
    ProductFactory(title="Jordan 1 Retro High", description="Chicago.")
    response = api_client.get("/api/v1/products/", {"q": "yezy"})
    assert [r["id"] for r in response.json()["results"]] == [str(yeezy.pk)]


@pytest.mark.django_db
def test_full_text_stems_and_weights_title_over_description(api_client):
    in_title = ProductFactory(title="Vintage watches", description="Two pieces.")
    in_description = ProductFactory(title="Box of things", description="Includes a watch strap.")
    response = api_client.get("/api/v1/products/", {"q": "watch", "ordering": "relevance"})
    assert [r["id"] for r in response.json()["results"]] == [str(in_title.pk), str(in_description.pk)]


@pytest.mark.django_db
def test_search_vector_follows_edits():
    product = ProductFactory(title="Sofa bed")
    Product.objects.filter(pk=product.pk).update(title="Persian rug")
    matches = selectors.search_text(Product.objects.all(), q="rug")
    assert list(matches.values_list("pk", flat=True)) == [product.pk]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny table would be scanned otherwise
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    return plan


@pytest.mark.django_db
def test_nearby_search_uses_the_gist_index():
    seller = SellerFactory()
    ProductFactory.create_batch(30, seller=seller)
    point = Point(*DUBAI_MARINA, srid=4326)
    nearby = selectors.products_search(selectors.products_for_list(), point=point, radius_km=5, ordering="distance")[
        :20
    ]
    plan = _plan(nearby)
    # Django's GiST index on the geography column serves ST_DWithin
    assert re.search(r"Index Scan using catalog_product_location_\w+_id", plan), plan


@pytest.mark.django_db
def test_text_search_uses_the_gin_indexes():
    ProductFactory.create_batch(10, seller=SellerFactory())
    plan = _plan(selectors.search_text(Product.objects.all(), q="yezy").order_by())
    assert "catalog_product_search_gin" in plan
    assert "catalog_product_title_trgm" in plan


def _aged(hours: float, **fields) -> Product:
    product = ProductFactory(**fields)
    Product.objects.filter(pk=product.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return product


@pytest.mark.django_db
def test_newest_first_search_pages_across_the_recent_window(api_client, django_assert_max_num_queries):
    # given "lamp" listings from the last day and older ones, and one that does not match
    seller = SellerFactory()
    ages = [1, 30, 5, 200, 12, 80, 2000, 23]  # hours: four within the last day, four older
    made = {hours: _aged(hours, title=f"Brass lamp {hours}h", seller=seller) for hours in ages}
    _aged(3, title="Wooden chair", seller=seller)
    expected = [str(made[h].pk) for h in sorted(ages)]
    # when the results are read three at a time
    seen, page = [], 1
    while True:
        with django_assert_max_num_queries(2):  # the last day's matches, then the older ones if needed
            body = api_client.get("/api/v1/products/", {"q": "lamp", "page_size": 3, "page": page}).json()
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        page += 1
    # then every match comes once, newest first, across the window's edge
    assert seen == expected


@pytest.mark.django_db
def test_newest_first_search_runs_one_query_when_the_last_day_fills_the_page(django_assert_num_queries):
    seller = SellerFactory()
    recent = [_aged(hours, title="Lego set", seller=seller) for hours in (1, 2, 3)]
    older = _aged(100, title="Lego set", seller=seller)
    matches = selectors.products_search(selectors.product_rows(), q="lego", ordering="newest")
    with django_assert_num_queries(1):
        page = matches[0:3]
    assert [row["id"] for row in page] == [p.pk for p in recent]
    with django_assert_num_queries(2):
        page = matches[2:4]
    assert [row["id"] for row in page] == [recent[2].pk, older.pk]


PARITY_SEARCHES = [
    {},
    {"category": "sneakers"},
    {"min_price": "50", "max_price": "500", "ordering": "price"},
    {"ordering": "-price", "include_sold": "true"},
    {"ordering": "popular", "condition": "new"},
    {"q": "jordan"},
    {"q": "jordn", "ordering": "relevance"},
    {"q": "lamp", "feed_type": "discover"},
    {"lat": "25.0805", "lng": "55.1403", "radius_km": "3", "ordering": "distance"},
    {"lat": "25.0805", "lng": "55.1403", "q": "lamp", "ordering": "distance"},
    {"lat": "25.1972", "lng": "55.2744", "ordering": "price", "category": "collectibles"},
    {"seller": "SELLER_NAME"},
    {"seller": "SELLER_ID", "include_sold": "true", "ordering": "newest"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_prepared_search_returns_what_the_orm_search_returns(api_client, auth_client, buyer, signed_in):
    # given a varied catalogue, some of it liked by the buyer
    from catalog.filters import parse_search_params, search_args
    from catalog.models import Category, Condition, FeedType

    sellers = [SellerFactory(), SellerFactory()]
    spots = [(55.1403, 25.0805), (55.1450, 25.0693), (55.2744, 25.1972), (55.3247, 25.2697)]
    titles = ["Jordan 1 Retro", "Brass lamp", "Air Jordan 4", "Oak table", "Desk lamp", "Yeezy 350"]
    categories, conditions = list(Category.values), list(Condition.values)
    for i in range(36):
        product = _aged(
            (i * 7) % 60,
            title=f"{titles[i % len(titles)]} #{i}",
            seller=sellers[i % 2],
            category=categories[i % 5],
            condition=conditions[i % 3],
            feed_type=FeedType.COMMUNITY if i % 3 == 0 else FeedType.DISCOVER,
            price=10 + (i * 37) % 900,
            location=Point(spots[i % 4][0] + i * 0.0003, spots[i % 4][1], srid=4326),
            is_available=i % 9 != 0,
        )
        Product.objects.filter(pk=product.pk).update(like_count=i % 4, view_count=i % 7)
        if signed_in and i % 4 == 0:
            ProductLike.objects.create(product=product, user=buyer)
    client = auth_client(buyer) if signed_in else api_client
    for search in PARITY_SEARCHES:
        params = {
            key: {"SELLER_NAME": sellers[0].username.upper(), "SELLER_ID": str(sellers[1].pk)}.get(value, value)
            for key, value in search.items()
        }
        data = parse_search_params(params)
        source = selectors.search_products(
            selectors.product_rows(user=buyer if signed_in else None, include_sold=True),
            search_args(data),
            ordering=data.get("ordering") or "newest",
            include_sold=bool(data.get("include_sold")),
        )
        for page in (1, 2):
            # when the API answers (the prepared query)
            body = client.get("/api/v1/products/", {**params, "page_size": 7, "page": page}).json()
            # then it is the ORM-built search's page, in the same order, with the same likes
            expected = source[(page - 1) * 7 : page * 7]
            assert [row["id"] for row in body["results"]] == [str(row["id"]) for row in expected], params
            assert [row["is_liked"] for row in body["results"]] == [bool(row["is_liked"]) for row in expected]
            assert page == 2 or expected, f"the catalogue has nothing for {params}: the comparison would be empty"


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False])
def test_nearest_first_lists_run_as_prepared_statements_unless_turned_off(
    api_client, settings, django_assert_num_queries, enabled
):
    settings.DB_SERVER_PREPARED_STATEMENTS = enabled
    near = ProductFactory(location=Point(*DUBAI_MARINA, srid=4326), feed_type="community")
    marina = {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0]}
    before = set(_prepared_statements())
    for _ in range(2):
        # each request still counts (and logs) its one list query
        with django_assert_num_queries(1):
            community = api_client.get("/api/v1/feeds/community/", marina).json()
        with django_assert_num_queries(1):
            nearby = api_client.get("/api/v1/products/", {**marina, "ordering": "distance"}).json()
        assert [r["id"] for r in community["results"]] == [str(near.pk)]
        assert [r["id"] for r in nearby["results"]] == [str(near.pk)]
    # a text search is planned for its words each time: never a prepared statement
    api_client.get("/api/v1/products/", {"q": "lamp"})
    after = set(_prepared_statements())
    geo = {statement for statement in after if "_st_expand" in statement}
    if enabled:
        assert any("ORDER BY" in s and "LIMIT $" in s for s in geo), after
    else:
        assert after == before
    assert not any("websearch_to_tsquery" in statement for statement in after)
