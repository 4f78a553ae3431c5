"""After the hammer: the winner's pending sale at the live-show fee, checkout by ``auction_id``
through the Stripe stand-in, the unpaid strike, second-chance offers, and the notifications."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.services import block_create
from auctions.models import Auction, AuctionOutcome, AuctionStatus
from auctions.services import close_lot, void_lot
from catalog.holds import product_hold
from catalog.models import Product
from messaging.models import Offer, OfferStatus
from notifications.models import Notification
from payments.models import SaleSource, Transaction, TransactionStatus
from payments.selectors import lot_buyers_with_unpaid, lot_sales_unpaid
from payments.services import transaction_refund
from soukloop.errors import Conflict, ServiceUnavailable
from streams.models import StreamStatus
from tests.auctions.conftest import won_lot
from tests.factories import ProductFactory, UserFactory
from tests.streams.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(db):
    stream = StreamFactory(status=StreamStatus.LIVE)
    return stream, ProductFactory(seller=stream.user, price=Decimal("50"))


def _lot(auth_client, live, **extra) -> Auction:
    stream, product = live
    body = {"product_id": str(product.pk), "starting_price": "50", "duration_seconds": 60, **extra}
    resp = auth_client(stream.user).post(f"/api/v1/streams/{stream.pk}/auctions/", body, format="json")
    assert resp.status_code == 201, resp.json()
    assert auth_client(stream.user).post(f"/api/v1/auctions/{resp.json()['id']}/start/").status_code == 200
    return Auction.objects.get(pk=resp.json()["id"])


def _bid(auth_client, user, lot, **body):
    return auth_client(user).post(f"/api/v1/auctions/{lot.pk}/bids/", body, format="json")


def _hammer(lot: Auction) -> Auction:
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("close_auctions")
    lot.refresh_from_db()
    return lot


def _code(resp) -> str:
    return resp.json()["errors"][0]["code"]


def _expire(sale: Transaction) -> None:
    """The pay window runs out and the reaper (release_checkouts) runs."""
    Transaction.objects.filter(pk=sale.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    call_command("release_checkouts")
    sale.refresh_from_db()


@pytest.fixture
def sold(auth_client, live, settings):
    """A lot won by alice at 120 (bob the runner-up with a ceiling of 115)."""
    settings.PLATFORM_FEE_PERCENT_LIVE = Decimal("8")
    lot = _lot(auth_client, live)
    alice, bob = UserFactory(), UserFactory()
    assert _bid(auth_client, bob, lot, max_amount="115").status_code == 201
    assert _bid(auth_client, alice, lot, amount="120").status_code == 201
    lot = _hammer(lot)
    return lot, alice, bob


def test_hammer_reserves_a_pending_sale_at_the_live_fee_for_the_pay_window(sold, auth_client, settings):
    lot, alice, bob = sold
    sale = Transaction.objects.get(source=SaleSource.AUCTION, source_id=lot.pk)
    assert (lot.outcome, sale.buyer, sale.status) == (AuctionOutcome.SOLD, alice, TransactionStatus.PENDING)
    assert (sale.amount, sale.platform_fee, sale.seller_payout) == (Decimal("120"), Decimal("9.60"), Decimal("110.40"))
    assert sale.pay_by == lot.closed_at + timedelta(minutes=settings.AUCTION_PAY_MINUTES)
    hold = product_hold(product_id=lot.product_id)
    assert (hold.buyer_id, hold.until) == (alice.pk, sale.pay_by)
    # the winner and the host see the payment; anyone else does not
    mine = auth_client(alice).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]
    assert mine["status"] == "awaiting_payment" and mine["transaction_id"] == str(sale.pk)
    assert auth_client(lot.host).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]["status"] == "awaiting_payment"
    assert auth_client(bob).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"] is None
    # a second close (the beat sweep and the task both run) reserves nothing more
    close_lot(auction_id=lot.pk, now=timezone.now() + timedelta(seconds=5))
    assert Transaction.objects.filter(product=lot.product).count() == 1


def test_others_cannot_buy_the_won_lot_while_the_winner_may_pay(sold, checkout, fake_stripe):
    lot, _alice, bob = sold
    resp = checkout(bob, product_id=str(lot.product_id))
    assert resp.status_code == 409 and _code(resp) == "product_reserved"
    resp = checkout(bob, auction_id=str(lot.pk))
    assert resp.status_code == 404 and _code(resp) == "auction_not_won"


def test_winner_pays_through_checkout_with_auction_id(sold, checkout, fake_stripe, post_event, auth_client):
    lot, alice, _bob = sold
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert (body["amount"], body["platform_fee"], body["seller_payout"]) == ("120.00", "9.60", "110.40")
    sale = Transaction.objects.get(pk=body["transaction_id"])
    assert fake_stripe.payment_intents[sale.stripe_payment_intent_id]["amount"] == 12000
    # the app retries (lost response): the same intent, not a second one
    again = checkout(alice, auction_id=str(lot.pk))
    assert again.json()["transaction_id"] == body["transaction_id"]
    assert len(fake_stripe.payment_intents) == 1
    event = fake_stripe.settle(sale.stripe_payment_intent_id, succeed=True)
    assert post_event(fake_stripe, event).json()["outcome"] == "completed"
    assert Product.objects.get(pk=lot.product_id).sold_at is not None
    assert auth_client(alice).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]["status"] == "paid"
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 409 and _code(resp) == "already_paid"


def test_checkout_needs_exactly_one_of_product_offer_or_lot(sold, checkout, fake_stripe):
    lot, alice, _ = sold
    resp = checkout(alice, auction_id=str(lot.pk), product_id=str(lot.product_id))
    assert resp.status_code == 400 and _code(resp) == "product_or_offer_required"


def test_declined_card_keeps_the_lot_and_a_cancelled_intent_is_replaced(sold, checkout, fake_stripe, post_event):
    lot, alice, _ = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    declined = fake_stripe.settle(sale.stripe_payment_intent_id, succeed=False)
    post_event(fake_stripe, declined)
    sale.refresh_from_db()
    assert sale.status == TransactionStatus.PENDING and sale.last_payment_error == "card_declined"
    # Stripe (or the app) cancels the intent inside the window: the lot stays the winner's
    intent = fake_stripe.payment_intents[sale.stripe_payment_intent_id]
    intent["status"] = "canceled"
    assert post_event(fake_stripe, fake_stripe.event("payment_intent.canceled", intent)).status_code == 200
    sale.refresh_from_db()
    assert (sale.status, sale.stripe_payment_intent_id) == (TransactionStatus.PENDING, "")
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 201
    assert len(fake_stripe.payment_intents) == 2


def test_unpaid_after_the_window_is_a_strike_and_the_host_hears_of_it(
    sold, checkout, fake_stripe, auth_client, django_capture_on_commit_callbacks
):
    lot, alice, _ = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    with django_capture_on_commit_callbacks(execute=True):
        _expire(sale)
    assert (sale.status, sale.failure_reason) == (TransactionStatus.FAILED, "checkout_expired")
    assert fake_stripe.payment_intents[sale.stripe_payment_intent_id]["status"] == "canceled"
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 409 and _code(resp) == "checkout_expired"
    assert auth_client(alice).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]["status"] == "unpaid"
    kinds = set(Notification.objects.filter(data__auction_id=str(lot.pk)).values_list("user_id", "kind"))
    assert (lot.host_id, "auction_unpaid") in kinds and (alice.pk, "auction_unpaid") in kinds
    # the strike: alice may not bid in any show
    stream2 = StreamFactory(status=StreamStatus.LIVE)
    lot2 = _lot(auth_client, (stream2, ProductFactory(seller=stream2.user)))
    resp = _bid(auth_client, alice, lot2, amount="60")
    assert resp.status_code == 409 and _code(resp) == "bidder_not_allowed"
    # a running reaper again changes nothing (idempotent), and no second notification
    with django_capture_on_commit_callbacks(execute=True):
        call_command("release_checkouts")
    assert Notification.objects.filter(user=alice, kind="auction_unpaid").count() == 1


def test_a_strike_older_than_the_strike_days_or_a_pending_win_does_not_count(sold, auth_client, settings):
    lot, alice, _ = sold
    stream2 = StreamFactory(status=StreamStatus.LIVE)
    lot2 = _lot(auth_client, (stream2, ProductFactory(seller=stream2.user)))
    # alice's win is still within its pay window: she may bid elsewhere
    assert _bid(auth_client, alice, lot2, amount="50").status_code == 201
    sale = Transaction.objects.get(source_id=lot.pk)
    _expire(sale)
    Transaction.objects.filter(pk=sale.pk).update(
        created_at=timezone.now() - timedelta(days=settings.AUCTION_STRIKE_DAYS + 1)
    )
    assert _bid(auth_client, alice, lot2, max_amount="80").status_code == 201


def test_paid_lots_after_an_unpaid_one_leave_the_strike_window(auth_client, settings):
    """Only the last AUCTION_UNPAID_STRIKES won lots count."""
    settings.AUCTION_UNPAID_STRIKES = 2
    alice = UserFactory()

    stream = StreamFactory(status=StreamStatus.LIVE)
    target = _lot(auth_client, (stream, ProductFactory(seller=stream.user)))
    won_lot(alice, TransactionStatus.FAILED)
    assert _code(_bid(auth_client, alice, target, amount="50")) == "bidder_not_allowed"
    won_lot(alice, TransactionStatus.COMPLETED)
    assert _code(_bid(auth_client, alice, target, amount="50")) == "bidder_not_allowed"
    won_lot(alice, TransactionStatus.COMPLETED)
    assert _bid(auth_client, alice, target, amount="50").status_code == 201


def test_second_chance_goes_to_the_runner_up_at_their_highest_bid(sold, checkout, fake_stripe, auth_client):
    lot, alice, bob = sold
    host = auth_client(lot.host)
    url = f"/api/v1/auctions/{lot.pk}/second-chance/"
    # not while the winner may still pay; never by anyone but the host
    assert _code(host.post(url)) == "second_chance_unavailable"
    assert auth_client(bob).post(url).status_code == 403
    sale = Transaction.objects.get(source_id=lot.pk)
    _expire(sale)
    resp = host.post(url, {"message": "Still want it?"}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert (body["bidder"], body["price"]) == (bob.username, "115.00")
    offer = Offer.objects.get(pk=body["offer_id"])
    assert (offer.buyer, offer.status, offer.counter_price) == (bob, OfferStatus.COUNTERED, Decimal("115"))
    assert _code(host.post(url)) == "second_chance_sent"
    # bob accepts the seller's price, then pays for the offer
    assert auth_client(bob).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
    resp = checkout(bob, offer_id=str(offer.pk))
    assert resp.status_code == 201, resp.json()
    assert resp.json()["amount"] == "115.00"
    # the lot's sale, at the live-show rate its winner would have paid (8%), not the listing's (10%)
    assert resp.json()["platform_fee"] == "9.20"
    # the first winner cannot come back to it
    assert _code(checkout(alice, auction_id=str(lot.pk))) == "checkout_expired"
    lot.refresh_from_db()
    assert lot.second_chance_offer_id == offer.pk


def test_second_chance_skips_a_runner_up_blocked_since(sold, auth_client):
    lot, _alice, bob = sold
    block_create(blocker=lot.host, blocked=bob)
    _expire(Transaction.objects.get(source_id=lot.pk))
    resp = auth_client(lot.host).post(f"/api/v1/auctions/{lot.pk}/second-chance/")
    assert resp.status_code == 409 and _code(resp) == "second_chance_unavailable"
    assert not Offer.objects.filter(product=lot.product).exists()


def test_reserve_not_met_the_host_may_offer_it_to_the_high_bidder(auth_client, live):
    lot = _lot(auth_client, live, reserve_price="500")
    carol = UserFactory()
    _bid(auth_client, carol, lot, max_amount="300")
    lot = _hammer(lot)
    assert (lot.outcome, lot.winner) == (AuctionOutcome.NO_SALE, None)
    assert not Transaction.objects.filter(product=lot.product).exists()
    assert product_hold(product_id=lot.product_id) is None
    resp = auth_client(lot.host).post(f"/api/v1/auctions/{lot.pk}/second-chance/")
    assert resp.status_code == 201
    assert (resp.json()["bidder"], resp.json()["price"]) == (carol.username, "300.00")


def test_second_chance_on_a_lot_without_bids_or_still_running(auth_client, live):
    lot = _lot(auth_client, live)
    url = f"/api/v1/auctions/{lot.pk}/second-chance/"
    assert _code(auth_client(lot.host).post(url)) == "second_chance_unavailable"
    _hammer(lot)
    assert _code(auth_client(lot.host).post(url)) == "second_chance_unavailable"


def test_late_payment_after_the_lot_went_to_the_runner_up_is_refunded(
    sold, checkout, fake_stripe, post_event, auth_client
):
    """The winner's card succeeded at Stripe just as the window closed (the reaper could not
    cancel it): the item had meanwhile been reserved by the runner-up's checkout."""
    lot, alice, bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    intent_id = sale.stripe_payment_intent_id
    Transaction.objects.filter(pk=sale.pk).update(
        status=TransactionStatus.FAILED, failure_reason="checkout_expired", pay_by=timezone.now()
    )
    offer_id = auth_client(lot.host).post(f"/api/v1/auctions/{lot.pk}/second-chance/").json()["offer_id"]
    auth_client(bob).post(f"/api/v1/offers/{offer_id}/accept/")
    assert checkout(bob, offer_id=offer_id).status_code == 201
    event = fake_stripe.settle(intent_id, succeed=True)
    assert post_event(fake_stripe, event).status_code == 200
    sale.refresh_from_db()
    assert sale.status == TransactionStatus.REFUNDED
    assert fake_stripe.calls("POST", "/v1/refunds")


def test_starting_price_and_bids_must_be_payable(auth_client, live):
    stream, product = live
    resp = auth_client(stream.user).post(
        f"/api/v1/streams/{stream.pk}/auctions/",
        {"product_id": str(product.pk), "starting_price": "1.50", "duration_seconds": 60},
        format="json",
    )
    assert resp.status_code == 400 and _code(resp) == "amount_out_of_range"
    lot = _lot(auth_client, live)
    resp = _bid(auth_client, UserFactory(), lot, max_amount="1000000.00")
    assert resp.status_code == 400 and _code(resp) == "amount_out_of_range"
    assert Auction.objects.get(pk=lot.pk).bid_count == 0


def test_outbid_is_notified_once_per_lot_per_window_and_the_winner_is_told(
    auth_client, live, django_capture_on_commit_callbacks
):
    lot = _lot(auth_client, live)
    alice, bob = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for user, amount in ((alice, "50"), (bob, "55"), (alice, "60"), (bob, "65"), (alice, "70")):
            assert _bid(auth_client, user, lot, amount=amount).status_code == 201
    outbid = Notification.objects.filter(kind="outbid")
    assert sorted(outbid.values_list("user_id", flat=True)) == sorted([alice.pk, bob.pk])
    # bob's 10 s window has passed (the shared cache's key expired; this process's clock moved)
    cache.delete(f"notif:outbid:{lot.pk}:{bob.pk}")
    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=True):
        cache.set(f"notif:outbid:{lot.pk}:{alice.pk}", 1, timeout=10)  # alice's claimed again elsewhere
        with django_capture_on_commit_callbacks(execute=True):
            _bid(auth_client, bob, lot, amount="75")  # alice outbid again, within a window
            _bid(auth_client, alice, lot, amount="80")  # bob outbid again, in a new window
    assert outbid.filter(user=alice).count() == 1
    assert outbid.filter(user=bob).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        _hammer(lot)
    won = Notification.objects.get(kind="auction_won")
    assert won.user == alice and won.data["amount"] == "80.00"


def test_voided_lot_releases_the_listing(auth_client, live):
    lot = _lot(auth_client, live)
    _bid(auth_client, UserFactory(), lot, amount="50")
    void_lot(auction_id=lot.pk)
    assert Auction.objects.get(pk=lot.pk).status == AuctionStatus.VOIDED
    assert product_hold(product_id=lot.product_id) is None
    assert not Transaction.objects.filter(product=lot.product).exists()


@pytest.mark.parametrize("outbid", [2, 20])
def test_a_batch_that_outbids_many_writes_their_notices_together(
    auth_client, live, outbid, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """A socket batch that takes the lead from many bidders at once (the start of a busy lot,
    or when their windows run out together) notifies each of them once, in the same number of
    queries for 2 or 20."""
    from auctions.services import BidRequest, place_bids
    from soukloop import events

    lot = _lot(auth_client, live)  # starts at 50, increment 5
    bidders = [UserFactory() for _ in range(outbid)]
    rising = [BidRequest(bidder=b, amount=Decimal(50 + 5 * n)) for n, b in enumerate(bidders)]
    winner = UserFactory()
    with events.deliveries_held() as kept, django_capture_on_commit_callbacks(execute=True):
        place_bids(auction_id=lot.pk, bids=[*rising, BidRequest(bidder=winner, amount=Decimal("1000.00"))])
    assert not Notification.objects.filter(kind="outbid").exists()  # held until delivered
    # the room's price, the outbid notices (users, preferences, devices, the rows, their check)
    with django_assert_max_num_queries(8):
        events.deliver_held(kept)
    notices = Notification.objects.filter(kind="outbid", data__auction_id=str(lot.pk))
    assert sorted(notices.values_list("user_id", flat=True)) == sorted(b.pk for b in bidders)
    assert {n.data["amount"] for n in notices} == {"1000.00"} and not notices.filter(user=winner).exists()


# --- Voided after the hammer (shill bidding found late) ----------------------------------------


def test_voiding_a_won_lot_cancels_its_unpaid_sale_without_a_strike(
    sold, checkout, fake_stripe, auth_client, django_capture_on_commit_callbacks
):
    lot, alice, bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert void_lot(auction_id=lot.pk) is not None
    lot.refresh_from_db()
    sale.refresh_from_db()
    assert lot.status == AuctionStatus.VOIDED
    assert (sale.status, sale.failure_reason) == (TransactionStatus.FAILED, "lot_voided")
    # the winner's PaymentIntent can no longer take money
    assert fake_stripe.payment_intents[sale.stripe_payment_intent_id]["status"] == "canceled"
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 409 and _code(resp) == "auction_voided"
    for person in (alice, lot.host):
        assert auth_client(person).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]["status"] == "cancelled"
    # the listing is free again: anyone may buy it at its price
    assert product_hold(product_id=lot.product_id) is None
    assert checkout(bob, product_id=str(lot.product_id)).status_code == 201
    # both sides are told; the winner's voided lot is no strike
    kinds = set(Notification.objects.filter(data__auction_id=str(lot.pk)).values_list("user_id", "kind"))
    assert {(alice.pk, "auction_voided"), (lot.host_id, "auction_voided")} <= kinds
    assert not Notification.objects.filter(user=alice, kind="auction_unpaid").exists()
    stream2 = StreamFactory(status=StreamStatus.LIVE)
    assert (
        _bid(
            auth_client, alice, _lot(auth_client, (stream2, ProductFactory(seller=stream2.user))), amount="50"
        ).status_code
        == 201
    )
    # the reaper and a second void change nothing
    call_command("release_checkouts")
    assert void_lot(auction_id=lot.pk) is None
    sale.refresh_from_db()
    assert (sale.status, sale.failure_reason) == (TransactionStatus.FAILED, "lot_voided")
    assert Notification.objects.filter(user=alice, kind="auction_voided").count() == 1


def test_a_paid_lot_is_voided_only_after_its_refund(sold, checkout, fake_stripe, post_event, auth_client):
    lot, alice, _bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    post_event(fake_stripe, fake_stripe.settle(sale.stripe_payment_intent_id, succeed=True))
    with pytest.raises(Conflict) as refused:
        void_lot(auction_id=lot.pk)
    assert refused.value.code == "lot_paid"
    lot.refresh_from_db()
    sale.refresh_from_db()
    assert (lot.status, sale.status) == (AuctionStatus.CLOSED, TransactionStatus.COMPLETED)
    transaction_refund(transaction_id=sale.pk, by=lot.host)
    assert void_lot(auction_id=lot.pk).status == AuctionStatus.VOIDED
    sale.refresh_from_db()
    assert (sale.status, sale.failure_reason) == (TransactionStatus.REFUNDED, "")
    assert auth_client(alice).get(f"/api/v1/auctions/{lot.pk}/").json()["payment"]["status"] == "refunded"


def test_a_void_waits_while_the_winners_payment_is_going_through(sold, checkout, fake_stripe, post_event):
    """The winner confirmed the card at Stripe a moment before staff voided: the money is on its
    way (Stripe cannot cancel a processing intent), so the void is refused and the payment lands."""
    lot, alice, _bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    fake_stripe.payment_intents[sale.stripe_payment_intent_id]["status"] = "processing"
    with pytest.raises(Conflict) as refused:
        void_lot(auction_id=lot.pk)
    assert refused.value.code == "lot_payment_in_progress"
    lot.refresh_from_db()
    sale.refresh_from_db()
    assert (lot.status, sale.status) == (AuctionStatus.CLOSED, TransactionStatus.PENDING)
    assert (
        post_event(fake_stripe, fake_stripe.settle(sale.stripe_payment_intent_id, succeed=True)).json()["outcome"]
        == "completed"
    )


def _void_fails_and_changes_nothing(lot: Auction, sale: Transaction) -> None:
    """Stripe could not be asked: the void is a 503 and the lot and its sale are as they were."""
    with pytest.raises(ServiceUnavailable):
        void_lot(auction_id=lot.pk)
    lot.refresh_from_db()
    sale.refresh_from_db()
    assert (lot.status, sale.status, sale.failure_reason) == (AuctionStatus.CLOSED, TransactionStatus.PENDING, "")


def test_a_void_while_stripe_is_down_changes_nothing(sold, checkout, fake_stripe):
    lot, alice, _bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    fake_stripe.fail_next("POST", f"/v1/payment_intents/{sale.stripe_payment_intent_id}/cancel", 503)
    _void_fails_and_changes_nothing(lot, sale)
    # the retry, Stripe back, goes through
    assert void_lot(auction_id=lot.pk).status == AuctionStatus.VOIDED


def test_a_lot_offered_to_the_runner_up_is_not_voided(sold, auth_client):
    lot, _alice, _bob = sold
    _expire(Transaction.objects.get(source_id=lot.pk))
    assert auth_client(lot.host).post(f"/api/v1/auctions/{lot.pk}/second-chance/").status_code == 201
    with pytest.raises(Conflict) as refused:
        void_lot(auction_id=lot.pk)
    assert refused.value.code == "second_chance_sent"
    assert Auction.objects.get(pk=lot.pk).status == AuctionStatus.CLOSED


def test_a_voided_win_takes_no_place_among_the_last_lots_counted_for_strikes(settings):
    """Strikes look at a buyer's last AUCTION_UNPAID_STRIKES won lots: a voided one was never
    theirs to pay, so it neither strikes nor pushes an older unpaid lot out of the window."""
    settings.AUCTION_UNPAID_STRIKES = 2
    alice, carol = UserFactory(), UserFactory()
    won_lot(alice, TransactionStatus.FAILED)  # unpaid, the oldest
    won_lot(alice, TransactionStatus.COMPLETED)
    voided = won_lot(alice, TransactionStatus.FAILED)
    Transaction.objects.filter(pk=voided.pk).update(failure_reason="lot_voided")
    won_lot(carol, TransactionStatus.COMPLETED)
    only_voided = won_lot(carol, TransactionStatus.FAILED)
    Transaction.objects.filter(pk=only_voided.pk).update(failure_reason="lot_voided")
    since = timezone.now() - timedelta(days=settings.AUCTION_STRIKE_DAYS)
    assert lot_buyers_with_unpaid(buyer_ids=[alice.pk, carol.pk], last=2, since=since) == {alice.pk}
    assert lot_sales_unpaid(buyer_id=alice.pk, last=2, since=since) == 1
    assert lot_sales_unpaid(buyer_id=carol.pk, last=2, since=since) == 0


def test_a_void_goes_through_when_stripe_already_cancelled_the_intent(sold, checkout, fake_stripe, post_event):
    """Stripe (or the app) cancelled the winner's intent and its webhook has not arrived yet:
    Stripe refuses a second cancel, the intent is looked up and found cancelled, the void goes
    on; the late webhook then changes nothing."""
    lot, alice, _bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    intent = fake_stripe.payment_intents[sale.stripe_payment_intent_id]
    intent["status"] = "canceled"
    assert void_lot(auction_id=lot.pk).status == AuctionStatus.VOIDED
    sale.refresh_from_db()
    assert (sale.status, sale.failure_reason) == (TransactionStatus.FAILED, "lot_voided")
    assert post_event(fake_stripe, fake_stripe.event("payment_intent.canceled", intent)).status_code == 200
    sale.refresh_from_db()
    assert (sale.status, sale.failure_reason) == (TransactionStatus.FAILED, "lot_voided")


def test_a_void_whose_intent_cannot_be_looked_up_changes_nothing(sold, checkout, fake_stripe):
    """Stripe refuses the cancel (the money is moving) and is then down for the lookup: nothing
    is known, so nothing is changed (503), and the retry decides."""
    lot, alice, _bob = sold
    sale = Transaction.objects.get(pk=checkout(alice, auction_id=str(lot.pk)).json()["transaction_id"])
    fake_stripe.payment_intents[sale.stripe_payment_intent_id]["status"] = "processing"
    fake_stripe.fail_next("GET", f"/v1/payment_intents/{sale.stripe_payment_intent_id}", 503)
    _void_fails_and_changes_nothing(lot, sale)
    with pytest.raises(Conflict) as refused:
        void_lot(auction_id=lot.pk)
    assert refused.value.code == "lot_payment_in_progress"


@pytest.mark.django_db(transaction=True)
def test_a_void_that_lands_while_checkout_waits_on_stripe_is_answered_as_a_void(
    sold, checkout, fake_stripe, httpserver
):
    """Staff void the lot while the winner's checkout is at Stripe making the intent: checkout
    finds its sale gone, cancels the intent it was given (no money can move for a voided lot),
    and says why: ``auction_voided``, not the ``checkout_expired`` of a lapsed pay window."""
    lot, alice, _bob = sold

    def void_while_stripe_answers(request):
        response = fake_stripe(request)
        if request.method == "POST" and request.path == "/v1/payment_intents":
            try:
                void_lot(auction_id=lot.pk)  # the sale has no intent yet: the void asks Stripe nothing
            finally:
                connection.close()  # this is the stand-in's thread
        return response

    httpserver.clear()
    httpserver.expect_request(re.compile("^/")).respond_with_handler(void_while_stripe_answers)
    resp = checkout(alice, auction_id=str(lot.pk))
    assert resp.status_code == 409 and _code(resp) == "auction_voided"
    (intent,) = fake_stripe.payment_intents.values()
    assert intent["status"] == "canceled"
    sale = Transaction.objects.get(source=SaleSource.AUCTION, source_id=lot.pk)
    assert (sale.status, sale.failure_reason, sale.stripe_payment_intent_id) == (
        TransactionStatus.FAILED,
        "lot_voided",
        "",
    )
    # and the app's retry is told the same
    assert _code(checkout(alice, auction_id=str(lot.pk))) == "auction_voided"
