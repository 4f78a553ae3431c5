"""Chats and offers are records in the admin: read by staff, rewritten by nobody. An accepted
offer's price is what checkout charges, and chats are the evidence behind reports and claims;
before, a superuser could change an accepted offer's price or a message's words in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from messaging.models import Offer, OfferStatus
from tests.factories import UserFactory
from tests.messaging.factories import MessageFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def accepted() -> Offer:
    return OfferFactory(status=OfferStatus.ACCEPTED, offered_price=Decimal("800.00"))


def test_an_accepted_offer_is_shown_but_its_price_cannot_be_edited(boss_client, accepted):
    url = f"/admin/messaging/offer/{accepted.pk}/change/"
    page = boss_client.get(url)
    assert page.status_code == 200
    assert b"800.00" in page.content
    assert b'name="offered_price"' not in page.content  # no input to type a price into
    assert b'name="_save"' not in page.content

    form = {"offered_price": "1.00", "status": OfferStatus.ACCEPTED, "expires_at_0": "2030-01-01"}
    assert boss_client.post(url, form).status_code == 403
    accepted.refresh_from_db()
    assert accepted.offered_price == Decimal("800.00")


def test_offers_are_neither_added_nor_deleted_in_the_admin(boss_client, accepted):
    assert boss_client.get("/admin/messaging/offer/add/").status_code == 403
    assert boss_client.post(f"/admin/messaging/offer/{accepted.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Offer.objects.filter(pk=accepted.pk).exists()


def test_a_message_cannot_be_rewritten_or_deleted(boss_client):
    message = MessageFactory(content="I will pay 800 on collection")
    url = f"/admin/messaging/message/{message.pk}/change/"
    assert boss_client.get(url).status_code == 200
    assert boss_client.post(url, {"content": "I will pay 80", "message_type": "text"}).status_code == 403
    assert boss_client.post(f"/admin/messaging/message/{message.pk}/delete/", {"post": "yes"}).status_code == 403
    message.refresh_from_db()
    assert message.content == "I will pay 800 on collection"


def test_a_moderator_reads_offers_and_conversations(client, moderator, accepted):
    client.force_login(moderator)
    assert client.get("/admin/messaging/offer/").status_code == 200
    assert client.get(f"/admin/messaging/offer/{accepted.pk}/change/").status_code == 200
    assert client.get(f"/admin/messaging/conversation/{accepted.conversation_id}/change/").status_code == 200
