"""Saved searches: the API (validated by the products list's own parser, 20 at most) and the
percolator's alerts (matched through the index, batched per run, once per window)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from discovery import services
from discovery.models import SavedSearch
from notifications.models import Notification
from tests.factories import DEIRA, DUBAI_MARINA, JLT, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/saved-searches/"
NEAR_MARINA = {"lat": DUBAI_MARINA[1], "lng": DUBAI_MARINA[0], "radius_km": 5}


def save(client, params, **extra):
    return client.post(URL, {"params": params, **extra}, format="json")


# --- the API ----------------------------------------------------------------------------------


def test_save_list_and_delete_a_search(auth_client, buyer):
    client = auth_client(buyer)
    params = {"q": "jordan 1", "category": "sneakers", "max_price": 800, **NEAR_MARINA}

    created = save(client, params, name="Jordans near me")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "Jordans near me"
    assert body["alerts"] is True
    assert body["params"] == {
        "q": "jordan 1",
        "category": "sneakers",
        "max_price": "800",
        "lat": str(DUBAI_MARINA[1]),
        "lng": str(DUBAI_MARINA[0]),
        "radius_km": "5",
    }
    assert [row["id"] for row in client.get(URL).json()["results"]] == [body["id"]]
    assert client.delete(f"{URL}{body['id']}/").status_code == 204
    assert client.get(URL).json()["results"] == []


def test_someone_elses_search_is_a_404_and_stays(auth_client, buyer):
    theirs = save(auth_client(UserFactory()), {"q": "ps5"}).json()

    assert auth_client(buyer).delete(f"{URL}{theirs['id']}/").status_code == 404
    assert SavedSearch.objects.filter(pk=theirs["id"]).exists()


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"category": "boats"}, "category"),
        ({"min_price": "cheap"}, "min_price"),
        ({"lat": 25.1}, "lng"),
        ({"radius_km": 5}, "radius_km"),
        ({"min_price": 10, "max_price": 5}, "max_price"),
        ({"colour": "red"}, "colour"),
        ({"q": ["a", "b"]}, "q"),
        # attributes: the list's own rules (the category's keys, its choices, numbers)
        ({"category": "books", "attr.size_eu": "43"}, "attr.size_eu"),
        ({"category": "sneakers", "attr.size_eu": "43.3"}, "attr.size_eu"),
        ({"category": "sneakers", "attr.size_eu": [{"eu": "43"}]}, "attr.size_eu"),
        ({"category": "electronics", "attr.storage_gb__gte": "lots"}, "attr.storage_gb__gte"),
        ({"category": "electronics", "attr.storage_gb__gte": ["128", "256"]}, "attr.storage_gb__gte"),
        ({"attr.shoe_size": "43"}, "attr.shoe_size"),
        # a hostile list: more values than the list takes
        ({"category": "sneakers", "attr.size_eu": [f"{35 + n / 2:g}" for n in range(21)]}, "attr.size_eu"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(auth_client, buyer, params, attr):
    response = save(auth_client(buyer), params)

    assert response.status_code == 400
    assert attr in {error["attr"] for error in response.json()["errors"]}
    assert not SavedSearch.objects.exists()


def test_a_search_keeps_its_attribute_filters_as_sent(auth_client, buyer):
    params = {"category": "sneakers", "attr.size_eu": ["42", 42.5], "attr.brand": "Nike"}

    created = save(auth_client(buyer), params)

    assert created.status_code == 201, created.json()
    assert created.json()["params"] == {"category": "sneakers", "attr.size_eu": ["42", "42.5"], "attr.brand": "Nike"}
    # and the list reads the same search back
    [row] = auth_client(buyer).get(URL).json()["results"]
    assert row["params"]["attr.size_eu"] == ["42", "42.5"]


def test_twenty_searches_at_most(auth_client, buyer, settings):
    client = auth_client(buyer)
    for number in range(settings.SAVED_SEARCHES_MAX):
        assert save(client, {"q": f"thing {number}"}).status_code == 201

    response = save(client, {"q": "one more"})

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "saved_search_limit"
    assert save(auth_client(UserFactory()), {"q": "someone else"}).status_code == 201


def test_saved_searches_need_a_sign_in(api_client):
    assert api_client.get(URL).status_code == 401
    assert save(api_client, {"q": "x"}).status_code == 401


@pytest.mark.parametrize("page_size", [5, 20])
def test_the_list_query_count_is_constant(auth_client, buyer, django_assert_max_num_queries, page_size):
    client = auth_client(buyer)
    for number in range(20):
        save(client, {"q": f"thing {number}"})
    with django_assert_max_num_queries(2):
        body = client.get(URL, {"page_size": page_size}).json()
    assert len(body["results"]) == page_size


# --- percolation ------------------------------------------------------------------------------


@pytest.fixture
def started():
    """The percolator has run once (its mark starts then: older listings are nobody's news)."""
    services.percolate()


def later(minutes: float = 0) -> timezone.datetime:
    return timezone.now() + timedelta(seconds=30, minutes=minutes)


def alerts():
    return list(Notification.objects.filter(kind="saved_search").order_by("created_at"))


def listing(title, *, category="sneakers", price="500.00", where=DUBAI_MARINA, seller=None, **extra):
    return ProductFactory(
        title=title,
        category=category,
        price=Decimal(price),
        location=Point(*where, srid=4326),
        seller=seller or SellerFactory(),
        **extra,
    )


def test_a_new_matching_listing_alerts_the_owner_with_its_title(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    save(auth_client(buyer), {"q": "Jordan retro", "category": "sneakers", "max_price": 800, **NEAR_MARINA})
    match = listing("Air Jordan 1 Retro High", where=JLT)
    # and listings it must not match
    listing("Air Jordan 1 Retro High", category="collectibles")  # other category
    listing("Air Jordan 1 Retro High", where=DEIRA)  # 25 km away
    listing("Air Jordan 1 Retro High", price="900.00")  # over the price
    listing("Jordan 4 Military Black")  # a word missing
    listing("Air Jordan Retro", seller=buyer)  # her own

    with django_capture_on_commit_callbacks(execute=True):
        result = services.percolate(now=later())

    assert result.listings == 6
    assert result.alerts == 1
    [alert] = alerts()
    assert alert.user_id == buyer.pk
    assert alert.body == "1 new listing: Air Jordan 1 Retro High"
    assert alert.data["product_ids"] == [str(match.pk)]


def test_accents_and_case_do_not_matter(auth_client, buyer, started, django_capture_on_commit_callbacks):
    save(auth_client(buyer), {"q": "pokemon"})
    listing("POKÉMON Charizard holo", category="trading_cards")

    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())

    assert len(alerts()) == 1


def test_a_listing_older_than_the_search_or_a_muted_search_alerts_nobody(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    listing("PlayStation 5", category="electronics")
    save(auth_client(buyer), {"q": "playstation"})
    save(auth_client(UserFactory()), {"q": "playstation"}, alerts=False)

    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())

    assert alerts() == []


def test_one_alert_per_run_with_the_count_and_the_first_three_titles(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    save(auth_client(buyer), {"category": "electronics"}, name="Gadgets")
    for number in range(5):
        listing(f"Gadget {number}", category="electronics")

    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())

    [alert] = alerts()
    assert alert.title == "New for your search “Gadgets”"
    assert alert.body == "5 new listings: Gadget 0, Gadget 1, Gadget 2…"


def test_matches_within_the_window_wait_and_go_out_once_it_is_over(
    auth_client, buyer, started, settings, django_capture_on_commit_callbacks
):
    settings.SAVED_SEARCH_ALERT_MINUTES = 15
    save(auth_client(buyer), {"category": "books"})
    listing("Harry Potter box set", category="books")
    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())
    assert len(alerts()) == 1

    # two more five minutes later: held, nothing sent
    listing("IB textbooks", category="books")
    listing("Arabic novels bundle", category="books")
    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later(5))
    assert len(alerts()) == 1
    assert SavedSearch.objects.get().pending_count == 2

    # a run after the window with nothing new sends the two that waited, in one alert
    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later(16))
    assert [a.body for a in alerts()][1] == "2 new listings: IB textbooks, Arabic novels bundle"
    assert SavedSearch.objects.get().pending_count == 0

    # and a run right after sends nothing more
    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later(17))
    assert len(alerts()) == 2


def test_each_listing_is_matched_once_across_runs(auth_client, buyer, started, django_capture_on_commit_callbacks):
    save(auth_client(buyer), {"category": "furniture"})
    listing("IKEA sofa bed", category="furniture")
    first = services.percolate(now=later())
    second = services.percolate(now=later(20))

    assert (first.listings, second.listings) == (1, 0)


def test_the_beat_task_runs_a_percolation(started):
    from discovery.tasks import percolate_saved_searches

    assert percolate_saved_searches.run() == 0


def test_attribute_filters_alert_only_for_listings_that_hold_them(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    save(auth_client(buyer), {"category": "sneakers", "attr.size_eu": ["42", "42.5"], "attr.brand": "Nike"})
    listing("Dunk low 42", attributes={"brand": "Nike", "size_eu": "42"})
    listing("Air Max 42.5", attributes={"brand": "Nike", "size_eu": "42.5", "colour": "white"})
    listing("Dunk low 44", attributes={"brand": "Nike", "size_eu": "44"})  # another size
    listing("Samba 42", attributes={"brand": "Adidas", "size_eu": "42"})  # another brand
    listing("Mystery pair", attributes={})  # no attributes at all

    with django_capture_on_commit_callbacks(execute=True):
        result = services.percolate(now=later())

    assert result.matches == 2
    [alert] = alerts()
    assert alert.body == "2 new listings: Dunk low 42, Air Max 42.5"


def test_a_numeric_attribute_range_alerts_from_its_bound(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    save(auth_client(buyer), {"category": "electronics", "attr.storage_gb__gte": 256, "attr.storage_gb__lte": "1024"})
    listing("iPhone 512", category="electronics", attributes={"storage_gb": 512})
    listing("iPhone 256", category="electronics", attributes={"storage_gb": 256})
    listing("iPhone 128", category="electronics", attributes={"storage_gb": 128})
    listing("Server 2048", category="electronics", attributes={"storage_gb": 2048})
    listing("iPhone unknown", category="electronics", attributes={"brand": "Apple"})

    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())

    [alert] = alerts()
    assert alert.body == "2 new listings: iPhone 512, iPhone 256"


def test_the_saved_search_and_the_list_agree_on_attributes(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    """What an alert names is what the list with the same parameters shows."""
    params = {"category": "sneakers", "attr.size_eu": ["42", "43"], "attr.colour": "black"}
    save(auth_client(buyer), params)
    for size in ("41", "42", "43"):
        for colour in ("black", "white"):
            listing(f"Pair {size} {colour}", attributes={"size_eu": size, "colour": colour})

    with django_capture_on_commit_callbacks(execute=True):
        services.percolate(now=later())

    [alert] = alerts()
    shown = auth_client(buyer).get(
        "/api/v1/products/", {"category": "sneakers", "attr.size_eu": ["42", "43"], "attr.colour": "black"}
    )
    assert sorted(row["id"] for row in shown.json()["results"]) == sorted(
        Notification.objects.get(pk=alert.pk).data["product_ids"]
    )
    assert alert.data["count"] == 2


@pytest.mark.parametrize("who_blocked", ["owner", "seller"])
def test_a_seller_in_a_block_with_the_owner_never_alerts_them(
    auth_client, buyer, started, who_blocked, django_capture_on_commit_callbacks
):
    from accounts.models import Block

    save(auth_client(buyer), {"q": "rolex"})
    blocked_seller, other_seller = SellerFactory(), SellerFactory()
    if who_blocked == "owner":
        Block.objects.create(blocker=buyer, blocked=blocked_seller)
    else:
        Block.objects.create(blocker=blocked_seller, blocked=buyer)
    listing("Rolex Submariner", category="collectibles", seller=blocked_seller)
    listing("Rolex Datejust", category="collectibles", seller=other_seller)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.percolate(now=later())

    assert result.matches == 1
    [alert] = alerts()
    assert alert.body == "1 new listing: Rolex Datejust"


# --- the word-pair index (PostGIS looks two-word searches up by their pair) ---------------------


def test_a_two_word_search_matches_its_words_anywhere_in_the_listing(
    auth_client, buyer, started, django_capture_on_commit_callbacks
):
    save(auth_client(buyer), {"q": "charizard 2021"})
    listing("Charizard holo", category="trading_cards", description="Pulled in 2021, sleeved since.")
    listing("Charizard holo 2019", category="trading_cards")  # its second word missing
    listing("2021 Topps chrome", category="sports_cards")  # its first word missing

    with django_capture_on_commit_callbacks(execute=True):
        result = services.percolate(now=later())

    assert result.matches == 1
    [alert] = alerts()
    assert alert.body == "1 new listing: Charizard holo"


def test_a_listing_with_too_many_words_for_pairs_still_meets_its_searches(
    auth_client, buyer, started, monkeypatch, django_capture_on_commit_callbacks
):
    from discovery import selectors

    monkeypatch.setattr(selectors, "PAIR_WORDS_MAX", 5)
    save(auth_client(buyer), {"q": "jordan chicago"})
    save(auth_client(UserFactory()), {"q": "jordan"})
    wordy = " ".join(f"word{n}" for n in range(10))
    listing("Jordan 1 chicago", description=wordy)  # over the pair limit: found by its longest word
    listing("Jordan 1 bred", description=wordy)  # only the one-word search wants it

    with django_capture_on_commit_callbacks(execute=True):
        result = services.percolate(now=later())

    assert result.matches == 3
    assert sorted(a.body for a in alerts()) == [
        "1 new listing: Jordan 1 chicago",
        "2 new listings: Jordan 1 chicago, Jordan 1 bred",
    ]


def test_searches_saved_before_the_pair_index_get_their_pair(buyer):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("discovery.migrations.0002_saved_search_word_pairs")
    two = SavedSearch.objects.create(user=buyer, params={"q": "pokemon base"}, q_key="pokemon", q_words=["base"])
    one = SavedSearch.objects.create(user=buyer, params={"q": "pokemon"}, q_key="pokemon", q_words=[])
    none = SavedSearch.objects.create(user=buyer, params={"category": "books"}, category="books")

    migration.fill_pairs(apps, None)

    assert SavedSearch.objects.get(pk=two.pk).q_pair == "base pokemon"
    assert SavedSearch.objects.get(pk=one.pk).q_pair == ""
    assert SavedSearch.objects.get(pk=none.pk).q_pair == ""
    # and a search saved now has the same key
    assert services._index_fields({"q": "Pokémon BASE"})["q_pair"] == "base pokemon"
