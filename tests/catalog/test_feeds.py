"""The Discover and Community feeds: ranking rules, stable cursors, query counts."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.utils import timezone

from catalog import ranking
from catalog.models import Product, ProductLike
from tests.factories import DEIRA, DUBAI_MARINA, JLT, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

DISCOVER = "/api/v1/feeds/discover/"
COMMUNITY = "/api/v1/feeds/community/"
PALM = (55.1390, 25.1124)  # ~3.5 km from the Marina


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [r["id"] for r in response.json()["results"]]


def at(lng_lat: tuple[float, float], dx: float = 0.0) -> Point:
    return Point(lng_lat[0] + dx, lng_lat[1], srid=4326)


def read_on(client, first: dict) -> list[str]:
    """The ids of the first page and of every page its ``next`` links lead to."""
    seen = [r["id"] for r in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    return seen


def aged(days: float, **kwargs):
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=False):
        return ProductFactory(**kwargs)


# --- discover -------------------------------------------------------------------------------
def test_discover_blends_freshness_and_popularity_with_time_decay(api_client):
    seller = SellerFactory()
    # a fresh listing nobody has seen yet
    fresh = aged(0, seller=seller)
    # a three-day-old hit: 15 likes = 2**4 popularity, worth four half-lives (days) of age
    old_hit = aged(3, seller=seller, like_count=15)
    # a two-day-old listing with a few views only
    old_quiet = aged(2, seller=seller, view_count=10)
    # a community listing never shows in discover
    aged(0, seller=seller, feed_type="community")
    assert ids(api_client.get(DISCOVER)) == [str(old_hit.pk), str(fresh.pk), str(old_quiet.pk)]


def test_equal_popularity_the_newer_wins_and_likes_move_items_up(api_client, auth_client):
    seller = SellerFactory()
    older = aged(1, seller=seller)
    newer = aged(0, seller=seller)
    assert ids(api_client.get(DISCOVER)) == [str(newer.pk), str(older.pk)]
    # two likes triple the older one's popularity (log2 3 > one half-life)
    for _ in range(2):
        auth_client(UserFactory()).post(f"/api/v1/products/{older.pk}/like/")
    assert ids(api_client.get(DISCOVER)) == [str(older.pk), str(newer.pk)]


def test_discover_hides_sold_and_filters_by_category(api_client):
    seller = SellerFactory()
    shoes = ProductFactory(seller=seller, category="sneakers")
    ProductFactory(seller=seller, category="books")
    ProductFactory(seller=seller, category="sneakers", is_available=False)
    assert ids(api_client.get(DISCOVER, {"category": "sneakers"})) == [str(shoes.pk)]
    assert api_client.get(DISCOVER, {"category": "cars"}).status_code == 400


def test_discover_pages_stably_while_new_listings_arrive(api_client):
    # given 7 listings of various ages and popularity
    seller = SellerFactory()
    existing = {str(aged(days, seller=seller, like_count=days * 2).pk) for days in range(7)}
    # when a client reads page 1, new listings arrive, then it follows the cursor
    first = api_client.get(DISCOVER, {"page_size": 3}).json()
    for _ in range(3):
        ProductFactory(seller=seller)
    seen = read_on(api_client, first)
    # then every original listing is seen exactly once, none twice, none skipped
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == existing


def test_hot_score_formula_matches_the_documented_blend():
    created = ranking.EPOCH + timedelta(days=10)
    assert ranking.hot_score(created_at=created, like_count=0, view_count=0) == pytest.approx(10.0)
    assert ranking.hot_score(created_at=created, like_count=3, view_count=0) == pytest.approx(12.0)
    assert ranking.hot_score(created_at=created, like_count=0, view_count=30) == pytest.approx(12.0)


# --- community ------------------------------------------------------------------------------
@pytest.fixture
def resident(db):
    return UserFactory(
        location=at(DUBAI_MARINA), neighborhood="Dubai Marina", building_name="Cayan Tower", username="resident"
    )


def test_community_same_building_then_neighbourhood_then_distance(auth_client, resident):
    seller = SellerFactory()
    community = {"seller": seller, "feed_type": "community"}
    # the nearest item, but in JLT
    nearest = ProductFactory(**community, location=at(DUBAI_MARINA, 0.001), neighborhood="Jumeirah Lake Towers")
    # further away but in the Marina
    marina_far = ProductFactory(**community, location=at(JLT), neighborhood="Dubai Marina", building_name="Marina Gate")
    marina_near = ProductFactory(
        **community, location=at(DUBAI_MARINA, 0.005), neighborhood="Dubai Marina", building_name="Princess Tower"
    )
    # same building, furthest of all (the building's other entrance, say)
    building = ProductFactory(**community, location=at(PALM), neighborhood="Dubai Marina", building_name="Cayan Tower")
    palm = ProductFactory(**community, location=at(PALM, 0.002), neighborhood="Palm Jumeirah")
    # outside the 5 km radius, and a discover listing next door
    ProductFactory(**community, location=at(DEIRA), neighborhood="Deira")
    ProductFactory(seller=seller, feed_type="discover", location=at(DUBAI_MARINA), neighborhood="Dubai Marina")

    response = auth_client(resident).get(COMMUNITY)  # defaults to the saved location

    assert ids(response) == [
        str(building.pk),
        str(marina_near.pk),
        str(marina_far.pk),
        str(nearest.pk),
        str(palm.pk),
    ]
    assert all(r["distance_km"] is not None for r in response.json()["results"])


def test_a_neighbourhood_beyond_the_radius_stays_out_and_its_nearest_come_first(auth_client, resident, settings):
    """The same-neighbourhood tier finds its page's nearest by walking the neighbourhood, without
    the radius: its listings beyond the radius still stay out, the rest come nearest first,
    then the other neighbourhoods within the radius."""
    settings.COMMUNITY_RADIUS_KM = 2
    seller = SellerFactory()
    community = {"seller": seller, "feed_type": "community", "neighborhood": "Dubai Marina"}
    inside = [ProductFactory(**community, location=at(DUBAI_MARINA, 0.001 * (i + 1))) for i in range(3)]
    for i in range(25):  # the same neighbourhood, all ~3-4 km away: outside the radius
        ProductFactory(**community, location=at(DUBAI_MARINA, 0.03 + 0.0005 * i))
    jlt = ProductFactory(seller=seller, feed_type="community", location=at(JLT), neighborhood="Jumeirah Lake Towers")

    response = auth_client(resident).get(COMMUNITY)

    assert ids(response) == [str(p.pk) for p in inside] + [str(jlt.pk)]
    assert all(r["distance_km"] <= 2 for r in response.json()["results"])


def test_community_at_an_explicit_point(api_client):
    seller = SellerFactory()
    jlt = ProductFactory(seller=seller, feed_type="community", location=at(JLT))
    ProductFactory(seller=seller, feed_type="community", location=at(DEIRA))
    response = api_client.get(COMMUNITY, {"lat": DEIRA[1], "lng": DEIRA[0]})
    assert str(jlt.pk) not in ids(response)
    assert len(ids(response)) == 1


def test_community_radius_follows_the_setting(api_client, settings):
    settings.COMMUNITY_RADIUS_KM = 1
    ProductFactory(feed_type="community", location=at(JLT))  # ~1.3 km
    assert ids(api_client.get(COMMUNITY, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0]})) == []


def test_community_rejects_a_forged_cursor(api_client):
    response = api_client.get(COMMUNITY, {"lat": 25.08, "lng": 55.14, "cursor": "bm90LWpzb24="})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cursor"


def test_community_needs_a_location(api_client, auth_client, buyer):
    for response in (api_client.get(COMMUNITY), auth_client(buyer).get(COMMUNITY)):
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "location_required"
    assert api_client.get(COMMUNITY, {"lat": 25.1}).json()["errors"][0]["attr"] == "lng"


def test_community_pages_stably_while_new_listings_arrive(api_client):
    seller = SellerFactory()
    existing = {
        str(ProductFactory(seller=seller, feed_type="community", location=at(DUBAI_MARINA, i * 0.002)).pk)
        for i in range(7)
    }
    first = api_client.get(COMMUNITY, {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "page_size": 3}).json()
    # a new listing right next to the reader arrives (it would sort first)
    ProductFactory(seller=seller, feed_type="community", location=at(DUBAI_MARINA))
    seen = read_on(api_client, first)
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == existing


@pytest.mark.parametrize("page_size", [5, 50])
def test_feed_query_counts_are_constant(auth_client, resident, django_assert_max_num_queries, page_size):
    seller = SellerFactory()
    ProductFactory.create_batch(60, seller=seller, feed_type="community", location=at(JLT))
    for other in SellerFactory.create_batch(4):  # several sellers: the personalised feed is kept diverse
        ProductFactory.create_batch(15, seller=other, feed_type="discover")
    client = auth_client(resident)
    client.get(COMMUNITY)  # SpatiaLite reads its spatial reference table once per process
    # the caller, then one query per tier (building, neighbourhood, the rest): never more
    with django_assert_max_num_queries(4):
        community = client.get(COMMUNITY, {"page_size": page_size})
    with django_assert_max_num_queries(2):
        discover = client.get(DISCOVER, {"page_size": page_size, "personalised": "false"})
    # signed in, personalised: the caller, one statement for all signals, the shared pools (the
    # global top and up to three categories' when not remembered), the affinity sellers', the page
    ProductLike.objects.create(user=resident, product=Product.objects.filter(feed_type="discover").first())
    with django_assert_max_num_queries(8):
        personal = client.get(DISCOVER, {"page_size": page_size})
    with django_assert_max_num_queries(2):  # the next page reads the snapshot: the caller, the page
        following = client.get(personal.json()["next"])
    assert len(community.json()["results"]) == len(discover.json()["results"]) == page_size
    assert len(personal.json()["results"]) == page_size
    assert 1 <= len(following.json()["results"]) <= page_size


def test_community_pages_through_a_crowd_at_one_point_in_id_order(api_client):
    # given 60 listings geocoded to the very same spot (one tower), and a few farther out
    seller = SellerFactory()
    crowd = ProductFactory.create_batch(60, seller=seller, feed_type="community", location=at(JLT))
    farther = [ProductFactory(seller=seller, feed_type="community", location=at(JLT, dx=0.002 * i)) for i in (1, 2)]
    # when someone in the Marina reads the feed two at a time
    seen, params = [], {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "page_size": 2}
    while True:
        body = api_client.get(COMMUNITY, params).json()
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        params["cursor"] = parse_qs(urlparse(body["next"]).query)["cursor"][0]
    # then the tied crowd comes in id order, once each, then the farther ones by distance
    assert seen == sorted(str(p.pk) for p in crowd) + [str(p.pk) for p in farther]
