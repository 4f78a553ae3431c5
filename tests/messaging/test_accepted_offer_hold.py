"""An accepted offer reserves the listing for its buyer for ACCEPTED_OFFER_HOLD_HOURS; left
unpaid, `expire_offers` lets it lapse so the listing sells again."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from messaging.models import Message, MessageType, OfferStatus
from payments.models import Transaction
from tests.messaging.factories import ConversationFactory, OfferFactory

pytestmark = pytest.mark.django_db


def _accepted_offer(product, **kw):
    conversation = ConversationFactory(product=product)
    return OfferFactory(conversation=conversation, status=OfferStatus.ACCEPTED, responded_at=timezone.now(), **kw)


def test_unpaid_accepted_offer_lapses_after_the_hold_and_the_command_is_idempotent(product, settings):
    settings.ACCEPTED_OFFER_HOLD_HOURS = 24
    offer = _accepted_offer(product)

    # before the hold is over nothing changes
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        call_command("expire_offers", stdout=StringIO())
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED

    # after it, the offer lapses once, with a system message in the conversation
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        out = StringIO()
        call_command("expire_offers", stdout=out)
        call_command("expire_offers", stdout=StringIO())
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    assert "1 unpaid accepted offer(s) lapsed" in out.getvalue()
    assert (
        Message.objects.filter(
            conversation=offer.conversation, message_type=MessageType.SYSTEM, offer_data__status="expired"
        ).count()
        == 1
    )


def test_accepted_offer_with_a_checkout_in_progress_does_not_lapse(product, settings):
    offer = _accepted_offer(product)
    Transaction.objects.create(
        buyer=offer.buyer,
        seller=product.seller,
        product=product,
        offer=offer,
        amount=offer.offered_price,
        platform_fee=0,
        seller_payout=offer.offered_price,
        feed_type=product.feed_type,
    )

    with time_machine.travel(timezone.now() + timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS + 1), tick=False):
        call_command("expire_offers", stdout=StringIO())

    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
