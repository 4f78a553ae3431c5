"""The signed-in Discover feed: the global rank blended with the person's affinities; never
their own or blocked sellers' listings; never more than three in a row from one seller."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import groupby
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Block, Follow
from catalog.models import ProductLike
from discovery.feed import diversify
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/feeds/discover/"


def scroll(client, **params):
    seen, query = [], {"page_size": 7, **params}
    while True:
        body = client.get(URL, query).json()
        seen += body["results"]
        if body["next"] is None:
            return seen
        query["cursor"] = parse_qs(urlparse(body["next"]).query)["cursor"][0]


def aged(hours, **kwargs):
    return ProductFactory(created_at=timezone.now() - timedelta(hours=hours), **kwargs)


def test_liked_categories_and_followed_sellers_rise(auth_client, buyer):
    # given equally fresh sneakers and electronics from many sellers, and Layla likes electronics
    electronics = [aged(5, category="electronics") for _ in range(4)]
    sneakers = [aged(1, category="sneakers") for _ in range(4)]
    for product in [aged(30, category="electronics") for _ in range(3)]:
        ProductLike.objects.create(product=product, user=buyer)
    followed = SellerFactory()
    theirs = aged(20, category="books", seller=followed)
    Follow.objects.create(follower=buyer, following=followed)

    personal = [row["id"] for row in scroll(auth_client(buyer))]
    global_ = [row["id"] for row in scroll(auth_client(buyer), personalised="false")]

    # then electronics come before the (fresher) sneakers for her, not in the global feed
    assert global_.index(str(sneakers[0].pk)) < global_.index(str(electronics[0].pk))
    assert max(personal.index(str(p.pk)) for p in electronics) < min(personal.index(str(p.pk)) for p in sneakers)
    assert personal.index(str(theirs.pk)) < global_.index(str(theirs.pk))


def test_never_my_own_nor_blocked_sellers_listings(auth_client, seller, buyer):
    mine = ProductFactory.create_batch(3, seller=seller)
    blocked, blocking, fine = SellerFactory(), SellerFactory(), SellerFactory()
    Block.objects.create(blocker=seller, blocked=blocked)
    Block.objects.create(blocker=blocking, blocked=seller)
    hidden = ProductFactory.create_batch(2, seller=blocked) + ProductFactory.create_batch(2, seller=blocking)
    shown = ProductFactory.create_batch(2, seller=fine)

    ids = {row["id"] for row in scroll(auth_client(seller))}

    assert ids == {str(p.pk) for p in shown}
    assert not ids & {str(p.pk) for p in mine + hidden}


def test_no_more_than_three_in_a_row_from_one_seller(auth_client, buyer):
    # given one seller's ten freshest listings and a few others' older ones
    busy = SellerFactory()
    for hours in range(10):
        aged(hours, seller=busy)
    for hours in range(20, 26):
        aged(hours)

    rows = scroll(auth_client(buyer))

    sellers = [row["seller"]["id"] for row in rows]
    assert all(len(set(sellers[i : i + 4])) > 1 for i in range(len(sellers) - 3))
    assert sellers[:3] == [str(busy.pk)] * 3  # the rank still leads


def test_diversify_keeps_order_and_drops_what_cannot_be_placed():
    rows = [{"id": n, "seller_id": seller} for n, seller in enumerate("AAAAABAA")]

    assert [(r["id"], r["seller_id"]) for r in diversify(rows)] == [
        (0, "A"),
        (1, "A"),
        (2, "A"),
        (5, "B"),
        (3, "A"),
        (4, "A"),
        (6, "A"),
    ]


def _diversify_by_definition(rows: list[dict], max_run: int = 3) -> list[dict]:
    """The rule as written: place the earliest item that does not make the last ``max_run + 1``
    one seller's; stop when no item can be placed."""
    result, rest = [], list(rows)
    while rest:
        for index, item in enumerate(rest):
            last = [prior["seller_id"] for prior in result[-max_run:]]
            if len(last) < max_run or any(seller != item["seller_id"] for seller in last):
                result.append(rest.pop(index))
                break
        else:
            break
    return result


@given(st.lists(st.sampled_from("ABCD"), max_size=40), st.integers(min_value=1, max_value=4))
def test_diversify_places_what_the_rule_places_in_the_same_order(sellers, max_run):
    rows = [{"id": n, "seller_id": seller} for n, seller in enumerate(sellers)]

    placed = diversify(rows, max_run=max_run)

    assert placed == _diversify_by_definition(rows, max_run)
    runs = [len(list(group)) for _seller, group in groupby(row["seller_id"] for row in placed)]
    assert all(run <= max_run for run in runs)


def test_pages_come_from_one_snapshot_while_listings_arrive(auth_client, buyer, settings):
    settings.DISCOVER_POOL_SECONDS = 0  # a new first page ranks what is there now (pools: below)
    for _ in range(12):
        ProductFactory()
    client = auth_client(buyer)
    first = client.get(URL, {"page_size": 5}).json()
    newcomer = ProductFactory()  # fresher than anything: top of a new snapshot, not of this scroll

    seen = [row["id"] for row in first["results"]]
    next_url = first["next"]
    while next_url:
        body = client.get(next_url).json()
        seen += [row["id"] for row in body["results"]]
        next_url = body["next"]

    assert len(seen) == len(set(seen)) == 12
    assert str(newcomer.pk) not in seen
    assert client.get(URL).json()["results"][0]["id"] == str(newcomer.pk)


@pytest.mark.parametrize("direction", ["she blocks them", "they block her"])
def test_a_block_made_while_scrolling_hides_that_sellers_listings_on_the_next_pages(auth_client, buyer, direction):
    # given a snapshot holding a seller's listings beyond the first page
    other = SellerFactory()
    for hours in range(4):
        aged(hours, seller=SellerFactory())
    later = [aged(10 + hours, seller=other) for hours in range(3)]
    client = auth_client(buyer)
    first = client.get(URL, {"page_size": 4}).json()
    assert not {row["id"] for row in first["results"]} & {str(p.pk) for p in later}

    # when a block between them is made mid-scroll
    if direction == "she blocks them":
        Block.objects.create(blocker=buyer, blocked=other)
    else:
        Block.objects.create(blocker=other, blocked=buyer)
    rest = client.get(first["next"]).json()

    # then the snapshot's next page leaves that seller's listings out
    assert rest["results"] == []
    assert rest["next"] is None


def test_anonymous_and_personalised_false_get_the_global_feed(api_client, auth_client, buyer):
    for _ in range(4):
        ProductFactory(seller=SellerFactory())
    mine = ProductFactory(seller=buyer)

    anonymous = [row["id"] for row in api_client.get(URL).json()["results"]]
    global_ = [row["id"] for row in auth_client(buyer).get(URL, {"personalised": "false"}).json()["results"]]

    assert anonymous == global_
    assert str(mine.pk) in global_  # the global feed is everyone's, own listings included


def test_a_forged_cursor_is_a_400(auth_client, buyer):
    response = auth_client(buyer).get(URL, {"cursor": "bm90LWEtY3Vyc29y"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_cursor"


def test_a_lost_snapshot_is_ranked_again_at_the_same_offset(auth_client, buyer):
    from tests.conftest import _clear_cache

    for _ in range(6):
        ProductFactory(seller=SellerFactory())
    client = auth_client(buyer)
    first = client.get(URL, {"page_size": 3}).json()
    _clear_cache()  # the snapshot expired (or Redis restarted)

    second = client.get(first["next"]).json()

    assert len(second["results"]) == 3
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


@pytest.mark.usefixtures("keep_connections_across_requests")
def test_the_ranking_is_kept_for_the_next_pages_once_the_first_has_been_sent(buyer):
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory
    from rest_framework_simplejwt.tokens import AccessToken

    from discovery.feed import _decode, _snapshot_key

    for _ in range(6):
        ProductFactory(seller=SellerFactory())
    request = RequestFactory().get(URL, {"page_size": 3}, HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(buyer)}")

    # the server's own handler, without the test client closing the response for us
    response = WSGIHandler()(request.environ, lambda status, headers: None)
    body = json.loads(b"".join(response))
    token, offset = _decode(parse_qs(urlparse(body["next"]).query)["cursor"][0])
    key = _snapshot_key(buyer, None, token)
    kept_while_sending = cache.get(key)
    response.close()  # the server has sent the page

    page = [row["id"] for row in body["results"]]
    assert (kept_while_sending, offset, len(page)) == (None, 3, 3)
    kept = cache.get(key)
    assert len(kept) == 6 and kept[:3] == page


# --- the shared pools (the best-ranked listings every personal ranking starts from) -------------


def first_page_ids(client):
    return [row["id"] for row in client.get(URL, {"page_size": 50}).json()["results"]]


def test_the_best_ranked_pools_are_shared_for_a_while_then_read_again(auth_client, buyer, settings):
    from tests.conftest import _clear_cache
    from tests.factories import UserFactory

    settings.DISCOVER_POOL_SECONDS = 30
    for _ in range(5):
        ProductFactory(seller=SellerFactory())
    assert len(first_page_ids(auth_client(buyer))) == 5  # her ranking fills the pools
    newcomer = ProductFactory(seller=SellerFactory())

    # someone else's ranking within the pools' 30 s starts from the same pools
    other = auth_client(UserFactory())
    assert str(newcomer.pk) not in first_page_ids(other)
    _clear_cache()  # the pools' time is up
    assert first_page_ids(other)[0] == str(newcomer.pk)


def test_a_shared_pool_still_leaves_out_my_own_blocked_and_sold_listings(auth_client, buyer, settings):
    from tests.factories import UserFactory

    settings.DISCOVER_POOL_SECONDS = 30
    blocked_seller = SellerFactory()
    theirs = ProductFactory.create_batch(2, seller=blocked_seller)
    mine = ProductFactory.create_batch(2, seller=buyer)
    sold = ProductFactory(seller=SellerFactory())
    others = ProductFactory.create_batch(3, seller=SellerFactory())
    everyone = first_page_ids(auth_client(UserFactory()))  # fills the pools with all of them
    assert {str(p.pk) for p in [*theirs, *mine, sold, *others]} <= set(everyone)

    Block.objects.create(blocker=buyer, blocked=blocked_seller)
    sold.is_available = False
    sold.save(update_fields=["is_available"])
    shown = first_page_ids(auth_client(buyer))

    assert set(shown) == {str(p.pk) for p in others}


def test_each_affinity_seller_brings_their_best_not_one_big_shop_all(monkeypatch, buyer):
    from catalog.models import Product
    from discovery import feed

    # given a followed big shop whose ten listings all rank above a followed small seller's two
    monkeypatch.setattr(feed, "AFFINITY_CANDIDATES", 6)  # 2 sellers: each one's best 3
    big, small = SellerFactory(), SellerFactory()
    shop = [ProductFactory(seller=big, category="sneakers") for _ in range(10)]
    few = [ProductFactory(seller=small, category="books") for _ in range(2)]
    for rank, product in enumerate(shop + few):
        Product.objects.filter(pk=product.pk).update(hot_score=100 - rank)
    sold = ProductFactory(seller=small, category="books", is_available=False)
    Product.objects.filter(pk=sold.pk).update(hot_score=1000)
    for seller in (big, small):
        Follow.objects.create(follower=buyer, following=seller)

    tops = feed.seller_tops(feed.Affinities(user=buyer))

    # then the shop's best three and both of the small seller's, best first; never a sold one
    assert [row[0] for row in tops] == [str(p.pk) for p in shop[:3] + few]
    assert [row[0] for row in feed.seller_tops(feed.Affinities(user=buyer, category="books"))] == [
        str(p.pk) for p in few
    ]


def test_the_sellers_asked_for_are_the_highest_affinity_ones_never_hidden(monkeypatch, buyer):
    from discovery import feed

    # given three sellers she likes, two of them more, one she follows but blocked, and a cap of 2
    monkeypatch.setattr(feed, "AFFINITY_SELLERS", 2)
    once, twice, thrice, blocked = (SellerFactory() for _ in range(4))
    for seller, likes in ((once, 1), (twice, 2), (thrice, 3)):
        for _ in range(likes):
            ProductLike.objects.create(user=buyer, product=ProductFactory(seller=seller))
    ProductFactory(seller=blocked)
    Follow.objects.create(follower=buyer, following=blocked)
    Block.objects.create(blocker=buyer, blocked=blocked)
    best = {seller.pk: ProductFactory(seller=seller) for seller in (once, twice, thrice)}

    affinities = feed.Affinities(user=buyer)
    sellers_asked = {row[1] for row in feed.seller_tops(affinities)}

    # then the two with the most likes (the same two in Python and in SQL), not the blocked one
    assert affinities.affinity_sellers() == [str(thrice.pk), str(twice.pk)]
    assert sellers_asked == {str(thrice.pk), str(twice.pk)}
    assert str(best[thrice.pk].pk) in {row[0] for row in feed.seller_tops(affinities)}


def test_every_signal_counts_as_the_formula_says(buyer):
    from discovery.feed import Affinities
    from discovery.models import SavedSearch
    from payments.models import Transaction, TransactionStatus

    # given Layla liked two books (one seller) and a toy, bought a sneaker, saved a search for
    # electronics, follows a seller, left a pending checkout, and is in blocks both ways
    bookseller, shoe_seller, followed, pending_seller = (SellerFactory() for _ in range(4))
    blocked, blocking = SellerFactory(), SellerFactory()
    likes = [
        ProductLike.objects.create(user=buyer, product=ProductFactory(seller=bookseller, category="books"))
        for _ in range(2)
    ]
    ProductLike.objects.create(user=buyer, product=ProductFactory(category="kids_baby"))
    for seller, status in ((shoe_seller, TransactionStatus.COMPLETED), (pending_seller, TransactionStatus.PENDING)):
        product = ProductFactory(seller=seller, category="sneakers" if seller == shoe_seller else "furniture")
        Transaction.objects.create(
            buyer=buyer, seller=seller, product=product, amount=product.price, platform_fee=0,
            seller_payout=product.price, feed_type=product.feed_type, status=status,
        )  # fmt: skip
    SavedSearch.objects.create(user=buyer, name="phones", params={"category": "electronics"}, category="electronics")
    SavedSearch.objects.create(user=buyer, name="anything", params={"q": "lamp"})
    Follow.objects.create(follower=buyer, following=followed)
    Block.objects.create(blocker=buyer, blocked=blocked)
    Block.objects.create(blocker=blocking, blocked=buyer)

    affinities = Affinities(user=buyer)

    # then likes 1 each, a purchase 3, a saved search 2 (of 8); sellers by likes / 3, or 1
    assert affinities.category_share == {"books": 2 / 8, "kids_baby": 1 / 8, "sneakers": 3 / 8, "electronics": 2 / 8}
    assert affinities.sellers[str(bookseller.pk)] == pytest.approx(2 / 3)
    assert affinities.sellers[str(shoe_seller.pk)] == affinities.sellers[str(followed.pk)] == 1.0
    assert str(pending_seller.pk) not in affinities.sellers
    assert affinities.hidden_sellers == {str(buyer.pk), str(blocked.pk), str(blocking.pk)}
    # a held-out like (the offline evaluation) is not a signal
    held_out = Affinities(user=buyer, exclude_like_ids=[likes[0].pk])
    assert held_out.category_share["books"] == 1 / 7
    assert held_out.sellers[str(bookseller.pk)] == pytest.approx(1 / 3)


def test_each_person_reads_their_own_signals_from_the_one_built_statement():
    from discovery.feed import Affinities
    from tests.factories import UserFactory

    # the statement is built once per process; each call puts its person's id in it
    layla, omar = UserFactory(), UserFactory()
    ProductLike.objects.create(user=layla, product=ProductFactory(category="books"))
    ProductLike.objects.create(user=omar, product=ProductFactory(category="sneakers"))
    Block.objects.create(blocker=SellerFactory(), blocked=omar)

    assert Affinities(user=layla).category_share == {"books": 1.0}
    assert Affinities(user=omar).category_share == {"sneakers": 1.0}
    assert len(Affinities(user=omar).hidden_sellers) == 2 and len(Affinities(user=layla).hidden_sellers) == 1


def test_listings_near_my_saved_location_rise_until_ten_km(auth_client, buyer):
    from soukloop.geo import make_point

    # given Layla's saved home in Dubai Marina and listings 1, 6, 15 and 30 km north of it, the
    # farther ones fresher (an hour is ~0.04 of a day in the rank; 1 km is +0.45, 6 km +0.2,
    # 10 km and beyond nothing)
    buyer.location = make_point(latitude=25.0805, longitude=55.1403)
    buyer.save(update_fields=["location"])

    def north(km, hours):
        return aged(hours, location=make_point(latitude=25.0805 + km / 111.2, longitude=55.1403))

    near, mid, far, farther = north(1, hours=6), north(6, hours=4), north(15, hours=3), north(30, hours=2)

    personal = [row["id"] for row in scroll(auth_client(buyer))]
    global_ = [row["id"] for row in scroll(auth_client(buyer), personalised="false")]

    # then nearer ranks first for her, and beyond 10 km freshness alone; everyone else sees the
    # freshest first
    assert personal == [str(near.pk), str(mid.pk), str(farther.pk), str(far.pk)]
    assert global_ == [str(farther.pk), str(far.pk), str(mid.pk), str(near.pk)]


def test_a_category_holds_for_every_candidate_she_is_shown(auth_client, buyer):
    # given a followed seller and liked categories with listings in several categories
    followed = SellerFactory()
    Follow.objects.create(follower=buyer, following=followed)
    for _ in range(3):
        ProductLike.objects.create(user=buyer, product=ProductFactory(category="electronics"))
    theirs = {c: ProductFactory(seller=followed, category=c) for c in ("books", "sneakers")}
    others = [ProductFactory(category=c) for c in ("books", "electronics", "sneakers")]

    rows = scroll(auth_client(buyer), category="books")

    # then only books: the followed seller's and everyone's, none from her other affinities
    assert {row["id"] for row in rows} == {str(theirs["books"].pk), str(others[0].pk)}
    assert auth_client(buyer).get(URL, {"category": "nope"}).status_code == 400


@pytest.mark.postgres
@pytest.mark.usefixtures("fresh_compiled_statements")
def test_each_first_page_is_its_persons_own_from_statements_prepared_once(auth_client):
    """On PostgreSQL the statements keyed by id (the token's user, the person's signals, the
    page's rows) are prepared on the connection and, after five runs, planned generically. Every
    run still binds its own person: six people in turn, twice over on one connection, each
    find the category they like at the top."""
    from django.db import connection

    from tests.factories import UserFactory

    categories = ["books", "sneakers", "electronics", "furniture", "kids_baby", "beauty"]
    people = []
    for category in categories:
        person = UserFactory()
        for _ in range(3):
            ProductLike.objects.create(user=person, product=ProductFactory(category=category))
        people.append((person, category))
    for category in categories:  # and more of everything, liked by nobody
        ProductFactory.create_batch(2, category=category)
    for _ in range(2):
        for person, category in people:
            response = auth_client(person).get(URL, {"page_size": 5})
            assert response.status_code == 200
            assert response.json()["results"][0]["category"] == category
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    # the three statements, each run once per request, the last seven on the generic plan
    assert len(prepared) == 3
    assert {runs for _text, runs, _generic in prepared} == {12}
    assert all(generic >= 1 for *_, generic in prepared)
    assert any("catalog_productlike" in text for text, *_ in prepared)
