"""Conversations: open (201/200), list from my side, archive rules, strangers, blocking."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Block
from messaging.models import Conversation
from tests.factories import ProductFactory, UserFactory
from tests.messaging.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/conversations/"


def send(client, conversation, content="Is it still available?"):
    return client.post(f"{URL}{conversation.pk}/messages/", {"message_type": "text", "content": content}, format="json")


def test_opening_a_conversation_is_201_then_200_with_the_same_id(buyer_client, product, buyer, seller):
    # given a listing by Omar
    # when Layla opens a chat about it twice
    first = buyer_client.post(URL, {"product_id": str(product.pk)}, format="json")
    second = buyer_client.post(URL.rstrip("/"), {"product_id": str(product.pk)}, format="json")

    # then the first creates it, the second returns the same conversation
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    body = first.json()
    assert body["other_user"]["username"] == seller.username
    assert body["product"] == {
        "id": str(product.pk),
        "title": "Jordan 1 Retro",
        "price": "149.00",
        "currency": "AED",
        "image_url": "http://127.0.0.1:8000/media/p/j1.jpg",
        "is_available": True,
    }
    assert body["unread_count"] == 0
    assert body["is_archived"] is False
    assert body["last_message"] is None
    conversation = Conversation.objects.get()
    assert (conversation.buyer, conversation.seller) == (buyer, seller)


def test_cannot_open_a_conversation_about_my_own_listing(seller_client, product):
    response = seller_client.post(URL, {"product_id": str(product.pk)}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "own_product"
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("product_id", ["00000000-0000-0000-0000-000000000000", "deleted"])
def test_opening_about_a_missing_or_deleted_listing_is_404(buyer_client, product, product_id):
    if product_id == "deleted":
        product.deleted_at = timezone.now()
        product.save()
        product_id = str(product.pk)

    response = buyer_client.post(URL, {"product_id": product_id}, format="json")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "product_not_found"


def test_bad_product_id_is_400_naming_the_field(buyer_client):
    response = buyer_client.post(URL, {"product_id": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "product_id"


def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_a_blocked_buyer_cannot_open_a_conversation_404_as_if_absent(buyer_client, product, buyer, seller):
    # given Omar has blocked Layla
    Block.objects.create(blocker=seller, blocked=buyer)

    # when she tries to open a chat about his listing
    response = buyer_client.post(URL, {"product_id": str(product.pk)}, format="json")

    # then it looks exactly like a missing listing
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "product_not_found"


def test_list_shows_each_side_its_own_view_newest_activity_first(
    buyer_client, seller_client, buyer, seller, product, conversation
):
    # given a second, older conversation of Layla's with another seller
    other = ConversationFactory(buyer=buyer)
    MessageFactory(conversation=other, sender=buyer)  # not through the service: no bump
    send(buyer_client, conversation, "Hi Omar")

    # when each side lists
    mine = buyer_client.get(URL).json()["results"]
    his = seller_client.get(URL).json()["results"]

    # then Layla sees the fresh conversation first, with Omar as the other user
    assert [c["id"] for c in mine] == [str(conversation.pk), str(other.pk)]
    assert mine[0]["other_user"]["username"] == seller.username
    assert mine[0]["unread_count"] == 0
    assert mine[0]["last_message"]["content"] == "Hi Omar"
    assert mine[0]["role"] == "buyer"
    # and Omar sees one unread message from Layla
    assert len(his) == 1
    assert his[0]["other_user"]["username"] == buyer.username
    assert his[0]["unread_count"] == 1
    assert his[0]["last_message_at"] is not None
    assert his[0]["role"] == "seller"


def test_a_stranger_gets_404_for_everything_in_a_conversation(auth_client, conversation):
    stranger = auth_client(UserFactory())
    base = f"{URL}{conversation.pk}"

    assert stranger.get(f"{base}/").status_code == 404
    assert stranger.get(f"{base}/messages/").status_code == 404
    assert stranger.post(f"{base}/messages/", {"content": "hi"}, format="json").status_code == 404
    assert stranger.post(f"{base}/read/").status_code == 404
    assert stranger.post(f"{base}/archive/").status_code == 404
    assert stranger.post(f"{base}/unarchive/").status_code == 404
    assert stranger.get(URL).json()["results"] == []


def test_a_malformed_conversation_id_is_404(buyer_client):
    assert buyer_client.get(f"{URL}not-a-uuid/messages/").status_code == 404


def test_archive_is_per_side_and_archived_list_shows_it(buyer_client, seller_client, conversation):
    # when Layla archives
    response = buyer_client.post(f"{URL}{conversation.pk}/archive/")

    # then it leaves her default list and appears with ?archived=true
    assert response.status_code == 200
    assert response.json()["is_archived"] is True
    assert buyer_client.get(URL).json()["results"] == []
    assert [c["id"] for c in buyer_client.get(f"{URL}?archived=true").json()["results"]] == [str(conversation.pk)]
    # and Omar's side is untouched
    assert [c["is_archived"] for c in seller_client.get(URL).json()["results"]] == [False]

    # when she unarchives, it is back
    assert buyer_client.post(f"{URL}{conversation.pk}/unarchive").json()["is_archived"] is False
    assert len(buyer_client.get(URL).json()["results"]) == 1


def test_a_new_message_unarchives_for_the_recipient_only(buyer_client, seller_client, conversation):
    # given both sides archived
    buyer_client.post(f"{URL}{conversation.pk}/archive/")
    seller_client.post(f"{URL}{conversation.pk}/archive/")

    # when Omar writes
    assert send(seller_client, conversation, "Still there?").status_code == 201

    # then it is back in Layla's inbox, still archived on Omar's side
    assert [c["is_archived"] for c in buyer_client.get(URL).json()["results"]] == [False]
    assert seller_client.get(URL).json()["results"] == []


def test_archived_query_must_be_a_boolean(buyer_client):
    response = buyer_client.get(f"{URL}?archived=maybe")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "archived"


@pytest.mark.parametrize("page_size", [5, 50])
def test_conversation_list_runs_constant_queries(buyer, buyer_client, page_size, django_assert_max_num_queries):
    # given 60 conversations with last messages, each with a different seller and listing
    for _ in range(60):
        conversation = ConversationFactory(buyer=buyer, product=ProductFactory())
        message = MessageFactory(conversation=conversation, sender=conversation.seller)
        Conversation.objects.filter(pk=conversation.pk).update(last_message=message, last_message_at=timezone.now())

    # then a page costs the same few queries whatever its size (auth user, count, page)
    with django_assert_max_num_queries(3):
        response = buyer_client.get(f"{URL}?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    assert all(c["last_message"] is not None for c in response.json()["results"])
