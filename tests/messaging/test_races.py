"""Races on PostgreSQL with real threads and real row locks (skipped, with the reason, on
SpatiaLite: SQLite ignores SELECT ... FOR UPDATE)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from messaging.models import Conversation, Message, Offer, OfferStatus
from messaging.services import conversation_open, message_send, offer_accept, offer_create
from soukloop.errors import DomainError
from tests.concurrency import run_together
from tests.factories import ProductFactory, SellerFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_devices_accepting_two_offers_at_once_accept_exactly_one():
    # given two buyers' pending offers on one listing, repeated to give the race a chance
    for _round in range(5):
        seller = SellerFactory()
        product = ProductFactory(seller=seller, price=Decimal("200.00"))
        offers = [
            offer_create(buyer=UserFactory(), product_id=product.pk, offered_price=Decimal(price))
            for price in ("150.00", "160.00")
        ]

        # when the seller's phone and tablet accept a different one at the same instant
        results = run_together([lambda o=o, s=seller: offer_accept(offer=o, by=s) for o in offers])

        # then exactly one is accepted and the other was declined (409 to its device)
        statuses = sorted(Offer.objects.filter(product=product).values_list("status", flat=True))
        assert statuses == [OfferStatus.ACCEPTED, OfferStatus.DECLINED]
        errors = [r for r in results if isinstance(r, DomainError)]
        assert len(errors) == 1
        assert errors[0].code in ("offer_not_open", "offer_already_accepted")


def test_concurrent_sends_lose_no_unread_count():
    # given a conversation
    seller = SellerFactory()
    buyer = UserFactory()
    conversation, _ = conversation_open(buyer=buyer, product_id=ProductFactory(seller=seller).pk)
    per_thread, threads = 10, 8

    def burst() -> None:
        for i in range(per_thread):
            message_send(conversation=conversation, sender=buyer, message_type="text", content=f"msg {i}")

    # when 8 threads send 10 messages each at once
    results = run_together([burst] * threads)

    # then the seller's unread count is exactly the number sent, and last_message is the newest
    assert all(r is None for r in results), results
    conversation.refresh_from_db()
    assert Message.objects.filter(conversation=conversation).count() == per_thread * threads
    assert conversation.seller_unread_count == per_thread * threads
    newest = Message.objects.filter(conversation=conversation).order_by("-created_at", "-id").first()
    assert conversation.last_message_at == newest.created_at


def test_concurrent_opens_make_one_conversation():
    seller = SellerFactory()
    buyer = UserFactory()
    product = ProductFactory(seller=seller)

    results = run_together([lambda: conversation_open(buyer=buyer, product_id=product.pk)] * 6)

    assert Conversation.objects.filter(product=product, buyer=buyer).count() == 1
    assert sum(1 for _conv, created in results if created) == 1
    assert len({conv.pk for conv, _created in results}) == 1


def test_concurrent_offers_by_one_buyer_leave_one_open():
    seller = SellerFactory()
    buyer = UserFactory()
    product = ProductFactory(seller=seller, price=Decimal("200.00"))

    results = run_together(
        [lambda p=p: offer_create(buyer=buyer, product_id=product.pk, offered_price=Decimal(p)) for p in ("100", "110")]
    )

    assert Offer.objects.filter(product=product, buyer=buyer, status=OfferStatus.PENDING).count() == 1
    assert [getattr(r, "code", None) for r in results if isinstance(r, DomainError)] == ["offer_already_open"]
