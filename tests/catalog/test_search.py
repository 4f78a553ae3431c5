"""GET /api/v1/products/: filters, geo search, orderings, pagination and query counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.utils import timezone

from catalog.models import Product
from tests.factories import DEIRA, DOWNTOWN, DUBAI_MARINA, JLT, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [r["id"] for r in response.json()["results"]]


def at(lng_lat: tuple[float, float]) -> Point:
    return Point(*lng_lat, srid=4326)


def test_marina_to_jlt_distance_is_computed_by_the_database(api_client):
    # given a listing in JLT
    ProductFactory(location=at(JLT), neighborhood="Jumeirah Lake Towers")
    # when someone in the Marina searches around them
    response = api_client.get(PRODUCTS, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "radius_km": 5})
    # then it is ~1.3 km away (spheroid on PostGIS, sphere on SpatiaLite: within tolerance)
    (result,) = response.json()["results"]
    assert 1.2 <= result["distance_km"] <= 1.5
    assert result["distance_km"] == pytest.approx(1.33, abs=0.05)


def test_radius_keeps_near_and_drops_far(api_client):
    near = ProductFactory(location=at(JLT))
    ProductFactory(location=at(DEIRA))  # ~28 km from the Marina
    assert ids(api_client.get(PRODUCTS, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "radius_km": 2})) == [
        str(near.pk)
    ]


def test_radius_is_capped_at_the_maximum(api_client, settings):
    # given the cap at 10 km and a listing in Deira, ~28 km from the Marina
    settings.MAX_SEARCH_RADIUS_KM = 10
    ProductFactory(location=at(DEIRA))
    # when someone asks for 500 km
    response = api_client.get(PRODUCTS, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "radius_km": 500})
    # then the search still stops at 10 km
    assert ids(response) == []


def test_lat_lng_without_radius_uses_the_cap(api_client):
    far = ProductFactory(location=at(DEIRA))
    response = api_client.get(PRODUCTS, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0]})
    assert ids(response) == [str(far.pk)]
    assert 27 < response.json()["results"][0]["distance_km"] < 29.5  # Deira is ~28 km from the Marina


def test_without_a_point_there_is_no_distance(api_client):
    ProductFactory()
    assert api_client.get(PRODUCTS).json()["results"][0]["distance_km"] is None


def test_ordering_by_distance(api_client):
    deira = ProductFactory(location=at(DEIRA))
    downtown = ProductFactory(location=at(DOWNTOWN))
    jlt = ProductFactory(location=at(JLT))
    response = api_client.get(PRODUCTS, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "ordering": "distance"})
    assert ids(response) == [str(jlt.pk), str(downtown.pk), str(deira.pk)]
    distances = [r["distance_km"] for r in response.json()["results"]]
    assert distances == sorted(distances)


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"lat": 25.0}, "lng"),
        ({"lng": 55.0}, "lat"),
        ({"lat": 95, "lng": 55}, "lat"),
        ({"lat": 25, "lng": 200}, "lng"),
        ({"lat": "north", "lng": 55}, "lat"),
        ({"lat": 25, "lng": 55, "radius_km": 0}, "radius_km"),
        ({"lat": 25, "lng": 55, "radius_km": -3}, "radius_km"),
        ({"radius_km": 3}, "radius_km"),
        ({"ordering": "distance"}, "ordering"),
        ({"ordering": "cheapest"}, "ordering"),
        ({"category": "cars"}, "category"),
        ({"condition": "broken"}, "condition"),
        ({"feed_type": "auction"}, "feed_type"),
        ({"min_price": "abc"}, "min_price"),
        ({"min_price": 100, "max_price": 10}, "max_price"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_parameter(api_client, params, attr):
    response = api_client.get(PRODUCTS, params)
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert attr in {e["attr"] for e in response.json()["errors"]}


def test_filters_category_condition_feed_type(api_client):
    match = ProductFactory(category="electronics", condition="new", feed_type="community")
    ProductFactory(category="electronics", condition="good", feed_type="community")
    ProductFactory(category="books", condition="new", feed_type="community")
    ProductFactory(category="electronics", condition="new", feed_type="discover")
    response = api_client.get(PRODUCTS, {"category": "electronics", "condition": "new", "feed_type": "community"})
    assert ids(response) == [str(match.pk)]


def test_price_range_is_inclusive(api_client):
    cheap = ProductFactory(price=Decimal("10.00"))
    mid = ProductFactory(price=Decimal("50.00"))
    ProductFactory(price=Decimal("50.01"))
    response = api_client.get(PRODUCTS, {"min_price": "10", "max_price": "50.00", "ordering": "price"})
    assert ids(response) == [str(cheap.pk), str(mid.pk)]


def test_seller_filter_by_username_or_id(api_client):
    seller = SellerFactory(username="noura")
    theirs = ProductFactory(seller=seller)
    ProductFactory()
    assert ids(api_client.get(PRODUCTS, {"seller": "NOURA"})) == [str(theirs.pk)]
    assert ids(api_client.get(PRODUCTS, {"seller": str(seller.pk)})) == [str(theirs.pk)]


def test_sold_items_only_with_include_sold(api_client):
    available = ProductFactory()
    sold = ProductFactory(is_available=False, sold_at=timezone.now())
    assert ids(api_client.get(PRODUCTS)) == [str(available.pk)]
    assert set(ids(api_client.get(PRODUCTS, {"include_sold": "true"}))) == {str(available.pk), str(sold.pk)}
    assert ids(api_client.get(PRODUCTS, {"include_sold": "false"})) == [str(available.pk)]


def test_orderings_newest_price_popular(api_client):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        old = ProductFactory(price=Decimal("30.00"), like_count=9, view_count=1)
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        mid = ProductFactory(price=Decimal("10.00"), like_count=2, view_count=100)
    new = ProductFactory(price=Decimal("20.00"), like_count=2, view_count=500)
    assert ids(api_client.get(PRODUCTS)) == [str(new.pk), str(mid.pk), str(old.pk)]  # newest is the default
    assert ids(api_client.get(PRODUCTS, {"ordering": "newest"})) == [str(new.pk), str(mid.pk), str(old.pk)]
    assert ids(api_client.get(PRODUCTS, {"ordering": "price"})) == [str(mid.pk), str(new.pk), str(old.pk)]
    assert ids(api_client.get(PRODUCTS, {"ordering": "-price"})) == [str(old.pk), str(new.pk), str(mid.pk)]
    assert ids(api_client.get(PRODUCTS, {"ordering": "popular"})) == [str(old.pk), str(new.pk), str(mid.pk)]


def test_q_matches_title_description_and_tags(api_client):
    title = ProductFactory(title="Jordan 1 Retro High", description="Size 43.")
    description = ProductFactory(title="Sneakers", description="Original Jordan box.")
    tags = ProductFactory(title="Shoes", description="", tags=["jordan", "nike"])
    ProductFactory(title="PlayStation 5", description="Two pads.")
    found = ids(api_client.get(PRODUCTS, {"q": "jordan"}))
    assert set(found) == {str(title.pk), str(description.pk), str(tags.pk)}
    relevance = ids(api_client.get(PRODUCTS, {"q": "jordan", "ordering": "relevance"}))
    assert relevance[0] == str(title.pk)  # a title match ranks above the others


def test_q_and_geo_and_filters_combine(api_client):
    match = ProductFactory(title="iPhone 15 Pro", category="electronics", location=at(JLT))
    ProductFactory(title="iPhone 15 Pro", category="electronics", location=at(DEIRA))
    ProductFactory(title="Sofa", category="furniture", location=at(JLT))
    response = api_client.get(
        PRODUCTS,
        {"q": "iphone", "category": "electronics", "lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "radius_km": 5},
    )
    assert ids(response) == [str(match.pk)]


# --- pagination and query counts --------------------------------------------------------------
def test_page_number_pagination_without_count(api_client):
    ProductFactory.create_batch(7)
    first = api_client.get(PRODUCTS, {"page_size": 5}).json()
    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 5 and first["previous"] is None
    second = api_client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None and second["previous"]
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_page_size_is_capped_at_100(api_client):
    ProductFactory.create_batch(3)
    response = api_client.get(PRODUCTS, {"page_size": 1000, "page": "x"})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


@pytest.mark.parametrize("page_size", [5, 50])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "ordering": "distance"},
        {"q": "listing", "ordering": "popular"},
    ],
)
def test_products_list_query_count_is_constant(auth_client, buyer, django_assert_max_num_queries, page_size, params):
    ProductFactory.create_batch(60, location=at(JLT), seller=SellerFactory())
    client = auth_client(buyer)
    # once per process, SpatiaLite's backend looks up its version and the SRID's definition: not per page
    client.get(PRODUCTS, {**params, "page_size": 1})
    with django_assert_max_num_queries(2):  # the caller, the page (is_liked and seller joined in)
        response = client.get(PRODUCTS, {**params, "page_size": page_size})
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [5, 50])
def test_user_products_query_count_is_constant(api_client, django_assert_max_num_queries, page_size):
    seller = SellerFactory()
    ProductFactory.create_batch(60, seller=seller)
    with django_assert_max_num_queries(2):  # the person exists, the page
        response = api_client.get(f"/api/v1/users/{seller.username}/products/", {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


def test_hidden_listings_never_show_in_search(api_client):
    shown = ProductFactory()
    hidden = ProductFactory()
    Product.objects.filter(pk=hidden.pk).update(deleted_at=timezone.now())
    assert ids(api_client.get(PRODUCTS, {"include_sold": "true"})) == [str(shown.pk)]


@pytest.mark.parametrize("page", ["502", "100000000000000000000000"])
def test_pages_past_ten_thousand_results_are_a_400_not_a_database_error(api_client, page):
    ProductFactory()
    response = api_client.get(PRODUCTS, {"page": page, "page_size": 20})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["attr"], error["code"]) == ("page", "page_too_deep")


def test_the_last_allowed_page_is_an_empty_page_not_an_error(api_client):
    ProductFactory()
    response = api_client.get(PRODUCTS, {"page": 501, "page_size": 20})  # offset 10,000
    assert response.status_code == 200
    assert response.json()["results"] == []
