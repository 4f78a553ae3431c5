"""GET /me/likes/: the listings I liked, newest like first, sold ones marked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import services
from catalog.models import ProductLike
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/likes/"


def like(product, user, minutes_ago):
    services.product_like(product=product, user=user)
    ProductLike.objects.filter(product=product, user=user).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_my_likes_newest_like_first_with_sold_marked_and_hidden_left_out(auth_client, buyer):
    # given Layla liked three listings (the oldest listing most recently), one since sold,
    # one since hidden, and someone else liked another
    old, sold, newer, hidden, others = ProductFactory.create_batch(5)
    like(old, buyer, minutes_ago=1)
    like(sold, buyer, minutes_ago=5)
    like(newer, buyer, minutes_ago=10)
    like(hidden, buyer, minutes_ago=2)
    like(others, SellerFactory(), minutes_ago=1)
    services.product_mark_sold(product=sold)
    services.product_hide(product=hidden, by=None, reason="test")

    body = auth_client(buyer).get(URL).json()

    # then she sees her likes, newest like first, sold marked, in the list's item shape
    assert [row["id"] for row in body["results"]] == [str(old.pk), str(sold.pk), str(newer.pk)]
    assert [row["is_sold"] for row in body["results"]] == [False, True, False]
    assert body["results"][1]["is_available"] is False
    assert all(row["is_liked"] for row in body["results"])
    assert {"seller", "price", "location", "liked_at"} <= set(body["results"][0])


def test_my_likes_needs_a_sign_in(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("page_size", [5, 50])
def test_my_likes_query_count_is_constant(auth_client, buyer, django_assert_max_num_queries, page_size):
    for minutes, product in enumerate(ProductFactory.create_batch(60)):
        like(product, buyer, minutes_ago=minutes)
    client = auth_client(buyer)
    client.get(URL, {"page_size": 1})  # warm the connection's one-time set-up

    with django_assert_max_num_queries(2):  # the caller, the page
        first = client.get(URL, {"page_size": page_size}).json()
    with django_assert_max_num_queries(2):
        second = client.get(first["next"]).json()

    assert len(first["results"]) == page_size
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}
