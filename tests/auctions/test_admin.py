"""Staff screens: lots with read-only bids, and an audited action to void a lot."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client
from django.utils import timezone

from auctions.models import Auction, AuctionStatus, Bid
from payments.models import TransactionStatus
from streams.models import StreamStatus
from tests.auctions.conftest import won_lot
from tests.conftest import otp_verify_session
from tests.factories import ProductFactory, UserFactory
from tests.streams.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    otp_verify_session(client, moderator)
    return client


@pytest.fixture
def lot():
    stream = StreamFactory(status=StreamStatus.LIVE)
    lot = Auction.objects.create(
        stream=stream,
        product=ProductFactory(seller=stream.user),
        host=stream.user,
        status=AuctionStatus.RUNNING,
        starting_price=Decimal(10),
        bid_increment=Decimal(5),
        duration_seconds=60,
        ends_at=timezone.now() + timedelta(seconds=60),
    )
    Bid.objects.create(auction=lot, bidder=UserFactory(), amount=Decimal(10), max_amount=Decimal(10))
    return lot


def test_staff_see_lots_and_bids(admin_client, lot):
    assert admin_client.get("/admin/auctions/auction/").status_code == 200
    page = admin_client.get(f"/admin/auctions/auction/{lot.pk}/change/")
    assert page.status_code == 200
    assert "10.00" in page.content.decode()


def test_void_action_voids_and_is_audited(admin_client, lot, moderator):
    resp = admin_client.post("/admin/auctions/auction/", {"action": "void_lots", "_selected_action": [str(lot.pk)]})
    assert resp.status_code == 302
    lot.refresh_from_db()
    assert lot.status == AuctionStatus.VOIDED
    assert LogEntry.objects.filter(user=moderator, object_id=str(lot.pk)).exists()
    # voiding again changes nothing and logs nothing more
    admin_client.post("/admin/auctions/auction/", {"action": "void_lots", "_selected_action": [str(lot.pk)]})
    assert LogEntry.objects.filter(object_id=str(lot.pk)).count() == 1


def test_void_action_after_the_hammer_cancels_an_unpaid_sale_and_refuses_a_paid_one(admin_client, moderator):
    unpaid = won_lot(UserFactory(), TransactionStatus.PENDING)
    paid = won_lot(UserFactory(), TransactionStatus.COMPLETED)
    lots = [Auction.objects.get(pk=tx.source_id) for tx in (unpaid, paid)]
    Auction.objects.filter(pk__in=[lot.pk for lot in lots]).update(status=AuctionStatus.CLOSED)
    resp = admin_client.post(
        "/admin/auctions/auction/",
        {"action": "void_lots", "_selected_action": [str(lot.pk) for lot in lots]},
        follow=True,
    )
    page = resp.content.decode()
    assert "1 lot voided." in page and "refund the payment first" in page
    unpaid.refresh_from_db()
    paid.refresh_from_db()
    assert (unpaid.status, unpaid.failure_reason) == (TransactionStatus.FAILED, "lot_voided")
    assert paid.status == TransactionStatus.COMPLETED
    assert [Auction.objects.get(pk=lot.pk).status for lot in lots] == [AuctionStatus.VOIDED, AuctionStatus.CLOSED]
    (entry,) = LogEntry.objects.filter(user=moderator)
    assert (entry.object_id, entry.change_message) == (str(lots[0].pk), "Voided (was closed).")


def test_the_void_audit_names_the_status_found_under_the_lock(lot, moderator, rf):
    """The action's rows were read before the lock: a close that lands in between is what the
    audit names, not the status the staff page showed."""
    from django.contrib.admin.sites import site

    stale = Auction.objects.get(pk=lot.pk)  # running, as the changelist read it
    Auction.objects.filter(pk=lot.pk).update(status=AuctionStatus.CLOSED)  # the hammer, meanwhile
    request = rf.post("/admin/auctions/auction/")
    request.user = moderator
    request.session = {}
    request._messages = FallbackStorage(request)
    site._registry[Auction].void_lots(request, [stale])
    entry = LogEntry.objects.get(object_id=str(lot.pk))
    assert "Voided (was closed)." in entry.get_change_message()
