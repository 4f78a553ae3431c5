"""Firm prices: no offers on a non-negotiable listing; offers under the seller's floor are
declined at once, politely, in the buyer's language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product
from messaging.models import Message, Offer, OfferStatus
from notifications.models import Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/offers/"


def make_offer(client, product, price):
    return client.post(URL, {"product_id": str(product.pk), "offered_price": price}, format="json")


def test_an_offer_on_a_firm_price_is_409_price_firm_and_leaves_nothing(buyer_client, product):
    Product.objects.filter(pk=product.pk).update(is_negotiable=False)

    response = make_offer(buyer_client, product, "120.00")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "price_firm"
    assert not Offer.objects.exists()
    assert not Message.objects.exists()


def test_an_offer_at_or_above_the_floor_stays_pending(buyer_client, product):
    Product.objects.filter(pk=product.pk).update(auto_decline_below=Decimal("100.00"))

    response = make_offer(buyer_client, product, "100.00")

    assert response.status_code == 201
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "Thank you for your offer of AED 60.00"), ("ar", "شكرًا لعرضك")]
)
def test_an_offer_under_the_floor_is_declined_at_once_and_only_the_buyer_is_told(
    buyer_client, seller_client, product, buyer, seller, language, expected, django_capture_on_commit_callbacks
):
    # given Omar declines anything under AED 100 automatically, and Layla reads in `language`
    Product.objects.filter(pk=product.pk).update(auto_decline_below=Decimal("100.00"))
    buyer.language = language
    buyer.save(update_fields=["language"])

    with django_capture_on_commit_callbacks(execute=True):
        response = make_offer(buyer_client, product, "60.00")

    # then the offer exists, declined, with one polite system message in her language
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == OfferStatus.DECLINED
    [message] = Message.objects.filter(conversation_id=body["conversation_id"])
    assert message.message_type == "system"
    assert message.sender_id is None
    assert expected in message.content
    assert message.offer_data["event"] == "auto_declined"
    # and she is told (a notification, one unread), Omar is not disturbed
    assert [(n.user_id, n.kind) for n in Notification.objects.all()] == [(buyer.pk, "offer")]
    assert buyer_client.get("/api/v1/conversations/").json()["results"][0]["unread_count"] == 1
    assert seller_client.get("/api/v1/conversations/").json()["results"][0]["unread_count"] == 0
    # and she may still offer more
    assert make_offer(buyer_client, product, "110.00").status_code == 201
