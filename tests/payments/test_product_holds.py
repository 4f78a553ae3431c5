"""Who holds a listing (catalog.holds): an open checkout or an accepted offer within its hold,
asked in one place by checkout and by offers; unpaid accepted offers lapse in payments'
``release_checkouts``, which knows whether a checkout pays for them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from catalog.holds import product_hold
from messaging.models import Message, MessageType, OfferStatus
from payments.models import Transaction, TransactionStatus
from tests.factories import UserFactory
from tests.messaging.factories import ConversationFactory, OfferFactory

pytestmark = pytest.mark.django_db


def _accepted_offer(product, **kw):
    conversation = ConversationFactory(product=product)
    return OfferFactory(conversation=conversation, status=OfferStatus.ACCEPTED, responded_at=timezone.now(), **kw)


def _pending_checkout(product, buyer, offer=None):
    return Transaction.objects.create(
        buyer=buyer,
        seller=product.seller,
        product=product,
        offer=offer,
        amount=product.price,
        platform_fee=0,
        seller_payout=product.price,
        feed_type=product.feed_type,
    )


def test_nobody_holds_a_fresh_listing(product):
    assert product_hold(product_id=product.pk) is None


def test_an_accepted_offer_holds_for_its_buyer_until_the_window_ends(product, settings):
    settings.ACCEPTED_OFFER_HOLD_HOURS = 24
    offer = _accepted_offer(product)
    hold = product_hold(product_id=product.pk)
    assert (hold.kind, hold.buyer_id, hold.ref) == ("accepted_offer", offer.buyer_id, offer.pk)
    assert hold.until == offer.responded_at + timedelta(hours=24)
    # and after the window it holds nothing, even before the lapse runs
    assert product_hold(product_id=product.pk, now=timezone.now() + timedelta(hours=25)) is None


def test_an_open_checkout_holds_for_its_buyer(product, settings):
    settings.CHECKOUT_HOLD_MINUTES = 15
    tx = _pending_checkout(product, UserFactory())
    hold = product_hold(product_id=product.pk)
    assert (hold.kind, hold.buyer_id, hold.ref) == ("checkout", tx.buyer_id, tx.pk)
    assert hold.until == tx.created_at + timedelta(minutes=15)


def test_no_offer_is_made_while_someone_elses_checkout_holds_the_item(product, auth_client):
    _pending_checkout(product, UserFactory())
    response = auth_client(UserFactory()).post(
        "/api/v1/offers/", {"product_id": str(product.pk), "offered_price": "120.00"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_reserved"


def test_no_offer_is_accepted_while_another_buyers_checkout_holds_the_item(product, auth_client, seller):
    offer = OfferFactory(conversation=ConversationFactory(product=product))
    _pending_checkout(product, UserFactory())
    response = auth_client(seller).post(f"/api/v1/offers/{offer.pk}/accept/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_reserved"
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING


def test_unpaid_accepted_offer_lapses_after_the_hold_and_the_command_is_idempotent(product, settings):
    settings.ACCEPTED_OFFER_HOLD_HOURS = 24
    offer = _accepted_offer(product)

    # before the hold is over nothing changes
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        call_command("release_checkouts", stdout=StringIO())
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED

    # after it, the offer lapses once, with a system message in the conversation
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        out = StringIO()
        call_command("release_checkouts", stdout=out)
        again = StringIO()
        call_command("release_checkouts", stdout=again)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    assert "1 unpaid accepted offer(s) lapsed" in out.getvalue()
    assert "0 unpaid accepted offer(s) lapsed" in again.getvalue()
    assert (
        Message.objects.filter(
            conversation=offer.conversation, message_type=MessageType.SYSTEM, offer_data__status="expired"
        ).count()
        == 1
    )


@pytest.mark.parametrize("status", [TransactionStatus.PENDING, TransactionStatus.COMPLETED])
def test_an_accepted_offer_being_paid_or_paid_does_not_lapse(product, settings, status):
    offer = _accepted_offer(product)
    with time_machine.travel(timezone.now() + timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS + 1), tick=False):
        tx = _pending_checkout(product, offer.buyer, offer=offer)  # begun just now: not abandoned
        Transaction.objects.filter(pk=tx.pk).update(status=status)
        call_command("release_checkouts", stdout=StringIO())

    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED


def test_an_abandoned_checkout_of_an_accepted_offer_is_freed_then_the_offer_lapses(product, settings):
    offer = _accepted_offer(product)
    tx = _pending_checkout(product, offer.buyer, offer=offer)
    with time_machine.travel(timezone.now() + timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS + 1), tick=False):
        call_command("release_checkouts", stdout=StringIO())
    tx.refresh_from_db()
    offer.refresh_from_db()
    assert tx.status == TransactionStatus.FAILED
    assert offer.status == OfferStatus.EXPIRED
    assert product_hold(product_id=product.pk) is None
