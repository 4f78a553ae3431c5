"""Idempotency-Key on message, offer and checkout creation (security review, finding 20:
five identical parallel POSTs stored five messages)."""

from __future__ import annotations

import pytest

from messaging.models import Message, MessageType, Offer
from soukloop.models import IdempotencyKey
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def messages_url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/messages/"


def _text_messages(conversation):
    return Message.objects.filter(conversation=conversation, message_type=MessageType.TEXT)


def test_a_repeated_message_with_the_same_key_is_stored_once_and_answered_the_same(buyer_client, conversation):
    body = {"message_type": "text", "content": "Is it still available?"}

    first = buyer_client.post(messages_url(conversation), body, format="json", HTTP_IDEMPOTENCY_KEY="msg-1")
    again = buyer_client.post(messages_url(conversation), body, format="json", HTTP_IDEMPOTENCY_KEY="msg-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert _text_messages(conversation).count() == 1


def test_without_a_key_every_post_is_a_new_message(buyer_client, conversation):
    body = {"message_type": "text", "content": "Hello"}
    buyer_client.post(messages_url(conversation), body, format="json")
    buyer_client.post(messages_url(conversation), body, format="json")

    assert _text_messages(conversation).count() == 2


def test_the_same_key_with_another_body_is_422(buyer_client, conversation):
    buyer_client.post(messages_url(conversation), {"content": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = buyer_client.post(
        messages_url(conversation), {"content": "two"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert list(_text_messages(conversation).values_list("content", flat=True)) == ["one"]


def test_keys_belong_to_their_sender(buyer_client, seller_client, conversation):
    body = {"content": "same words"}
    buyer_client.post(messages_url(conversation), body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = seller_client.post(messages_url(conversation), body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 201
    assert _text_messages(conversation).count() == 2


def test_a_failed_request_does_not_burn_its_key(buyer_client, conversation):
    bad = buyer_client.post(messages_url(conversation), {"content": ""}, format="json", HTTP_IDEMPOTENCY_KEY="retry")
    good = buyer_client.post(
        messages_url(conversation), {"content": "fixed"}, format="json", HTTP_IDEMPOTENCY_KEY="retry"
    )

    assert (bad.status_code, good.status_code) == (400, 201)


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400(buyer_client, conversation, key):
    response = buyer_client.post(messages_url(conversation), {"content": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_offers_are_made_once_per_key(buyer_client, product):
    body = {"product_id": str(product.pk), "offered_price": "120.00"}

    first = buyer_client.post("/api/v1/offers/", body, format="json", HTTP_IDEMPOTENCY_KEY="offer-1")
    again = buyer_client.post("/api/v1/offers/", body, format="json", HTTP_IDEMPOTENCY_KEY="offer-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Offer.objects.filter(product=product).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_identical_parallel_posts_store_one_message(auth_client):
    from messaging.models import Conversation
    from tests.factories import ProductFactory, SellerFactory, UserFactory

    buyer, seller = UserFactory(), SellerFactory()
    product = ProductFactory(seller=seller)
    opened = auth_client(buyer).post("/api/v1/conversations/", {"product_id": str(product.pk)}, format="json")
    conversation = Conversation.objects.get(pk=opened.json()["id"])
    body = {"message_type": "text", "content": "Deal?"}

    def send():
        client = auth_client(buyer)
        client.raise_request_exception = False
        return client.post(messages_url(conversation), body, format="json", HTTP_IDEMPOTENCY_KEY="tap-tap").status_code

    codes = run_together([send] * 5)

    assert _text_messages(conversation).count() == 1
    assert set(codes) <= {201, 409} and codes.count(201) >= 1
