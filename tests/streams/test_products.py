"""Tagging the host's listings on a stream."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from catalog.services import product_mark_sold
from streams.models import MAX_TAGGED_PRODUCTS_PER_STREAM, StreamProduct, StreamStatus
from tests.factories import ProductFactory
from tests.streams.factories import StreamFactory, StreamProductFactory

pytestmark = pytest.mark.django_db


def _url(stream, product=None) -> str:
    base = f"/api/v1/streams/{stream.pk}/products/"
    return f"{base}{product.pk}/" if product is not None else base


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


@pytest.fixture
def listing(host):
    return ProductFactory(seller=host, title="Jordan 1 Chicago", image_urls=["http://127.0.0.1:8000/media/p/1.jpg"])


def test_host_tags_own_listing_and_viewers_see_it(host_client, api_client, scheduled_stream, listing):
    # when the host tags a listing at the lower-right of the frame
    response = host_client.post(_url(scheduled_stream), {"product_id": str(listing.pk), "x": 0.8, "y": 0.9})
    # then it is created and anyone sees it with the listing's details
    assert response.status_code == 201, response.content
    assert response.json()["product_id"] == str(listing.pk)
    rows = api_client.get(_url(scheduled_stream)).json()["results"]
    assert len(rows) == 1
    assert rows[0]["x"] == 0.8 and rows[0]["y"] == 0.9 and rows[0]["pinned"] is False
    assert rows[0]["product"] == {
        "id": str(listing.pk),
        "title": "Jordan 1 Chicago",
        "price": "149.00",
        "currency": "AED",
        "image_url": "http://127.0.0.1:8000/media/p/1.jpg",
        "is_available": True,
        "sold_at": None,
    }


def test_tagging_again_moves_the_tag(host_client, scheduled_stream, listing):
    host_client.post(_url(scheduled_stream), {"product_id": str(listing.pk), "x": 0.1, "y": 0.1})
    response = host_client.post(_url(scheduled_stream), {"product_id": str(listing.pk), "x": 0.5, "y": 0.6})
    assert response.status_code == 200
    tag = StreamProduct.objects.get()
    assert (tag.x, tag.y) == (0.5, 0.6)


def test_listing_sold_during_stream_shows_as_sold(host_client, api_client, live_stream, listing):
    stream, _key = live_stream
    host_client.post(_url(stream), {"product_id": str(listing.pk), "x": 0.5, "y": 0.5})
    product_mark_sold(product=listing)
    row = api_client.get(_url(stream)).json()["results"][0]
    assert row["product"]["is_available"] is False
    assert row["product"]["sold_at"] is not None


def test_only_one_pinned_listing(host_client, scheduled_stream, host):
    first, second = ProductFactory(seller=host), ProductFactory(seller=host)
    host_client.post(_url(scheduled_stream), {"product_id": str(first.pk), "x": 0.2, "y": 0.2, "pinned": True})
    host_client.post(_url(scheduled_stream), {"product_id": str(second.pk), "x": 0.4, "y": 0.4, "pinned": True})
    rows = host_client.get(_url(scheduled_stream)).json()["results"]
    assert [(row["product_id"], row["pinned"]) for row in rows] == [(str(second.pk), True), (str(first.pk), False)]


def test_database_refuses_two_pinned_tags(scheduled_stream):
    from django.db import IntegrityError, transaction

    StreamProductFactory(stream=scheduled_stream, pinned=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        StreamProductFactory(stream=scheduled_stream, pinned=True)


@pytest.mark.parametrize(
    ("x", "y", "attr"), [(-0.1, 0.5, "x"), (1.01, 0.5, "x"), (0.5, 2, "y"), ("left", 0.5, "x"), (0.5, None, "y")]
)
def test_position_must_be_inside_the_frame(host_client, scheduled_stream, listing, x, y, attr):
    response = host_client.post(_url(scheduled_stream), {"product_id": str(listing.pk), "x": x, "y": y})
    assert response.status_code == 400
    assert attr in [error["attr"] for error in response.json()["errors"]]


def test_cannot_tag_someone_elses_listing(host_client, scheduled_stream):
    response = host_client.post(_url(scheduled_stream), {"product_id": str(ProductFactory().pk), "x": 0, "y": 0})
    assert response.status_code == 400
    assert _codes(response) == ["not_your_product"]


def test_cannot_tag_sold_or_deleted_or_unknown_listing(host_client, scheduled_stream, host):
    sold = ProductFactory(seller=host, is_available=False, sold_at=timezone.now())
    deleted = ProductFactory(seller=host, deleted_at=timezone.now())
    for product_id, code in [
        (sold.pk, "product_unavailable"),
        (deleted.pk, "product_not_found"),
        (uuid.uuid4(), "product_not_found"),
    ]:
        response = host_client.post(_url(scheduled_stream), {"product_id": str(product_id), "x": 0, "y": 0})
        assert response.status_code == 400
        assert _codes(response) == [code]
    assert not StreamProduct.objects.exists()


def test_only_host_tags_and_untags(auth_client, buyer, scheduled_stream, listing):
    tag = StreamProductFactory(stream=scheduled_stream, product=listing)
    client = auth_client(buyer)
    assert client.post(_url(scheduled_stream), {"product_id": str(listing.pk), "x": 0, "y": 0}).status_code == 403
    assert client.delete(_url(scheduled_stream, listing)).status_code == 403
    assert StreamProduct.objects.filter(pk=tag.pk).exists()


def test_cannot_tag_on_ended_stream(host_client, host, listing):
    stream = StreamFactory(user=host, status=StreamStatus.ENDED)
    response = host_client.post(_url(stream), {"product_id": str(listing.pk), "x": 0, "y": 0})
    assert response.status_code == 409
    assert _codes(response) == ["stream_ended"]


def test_tag_limit(host_client, scheduled_stream, host, settings):
    for _ in range(MAX_TAGGED_PRODUCTS_PER_STREAM):
        StreamProductFactory(stream=scheduled_stream)
    response = host_client.post(
        _url(scheduled_stream), {"product_id": str(ProductFactory(seller=host).pk), "x": 0, "y": 0}
    )
    assert response.status_code == 400
    assert _codes(response) == ["too_many_products"]


def test_untag(host_client, scheduled_stream, listing):
    StreamProductFactory(stream=scheduled_stream, product=listing)
    response = host_client.delete(_url(scheduled_stream, listing).rstrip("/"))
    assert response.status_code == 204
    assert not StreamProduct.objects.exists()
    again = host_client.delete(_url(scheduled_stream, listing))
    assert again.status_code == 404
    assert _codes(again) == ["product_not_tagged"]


def test_tag_message_in_arabic(host_client, scheduled_stream):
    response = host_client.post(
        _url(scheduled_stream),
        {"product_id": str(ProductFactory().pk), "x": 0, "y": 0},
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    assert response.json()["errors"][0]["detail"] == "يمكنك وسم إعلاناتك فقط."


@pytest.mark.parametrize("page_size", [5, 50])
def test_tag_list_runs_constant_queries(api_client, scheduled_stream, django_assert_max_num_queries, page_size):
    for _ in range(page_size):
        StreamProductFactory(stream=scheduled_stream)
    with django_assert_max_num_queries(3):  # stream + count + page
        response = api_client.get(_url(scheduled_stream), {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
