"""Lots, bids, proxy bidding, anti-sniping and the close (embedded and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.services import block_create
from auctions.models import Auction, AuctionOutcome, AuctionStatus, Bid
from auctions.services import apply_proxy, default_increment
from catalog.holds import product_hold
from soukloop.celery import app as celery_app
from streams.models import StreamStatus
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _create(auth_client, stream, product, **extra):
    body = {"product_id": str(product.pk), "starting_price": "50", "duration_seconds": 60, **extra}
    return auth_client(stream.user).post(f"/api/v1/streams/{stream.pk}/auctions/", body, format="json")


def _running(auth_client, live, **extra) -> Auction:
    stream, product = live
    resp = _create(auth_client, stream, product, **extra)
    assert resp.status_code == 201, resp.json()
    resp = auth_client(stream.user).post(f"/api/v1/auctions/{resp.json()['id']}/start/")
    assert resp.status_code == 200, resp.json()
    return Auction.objects.get(pk=resp.json()["id"])


def _bid(auth_client, user, lot, **body):
    return auth_client(user).post(f"/api/v1/auctions/{lot.pk}/bids/", body, format="json")


def _code(resp) -> str:
    return resp.json()["errors"][0]["code"]


def test_create_lot_is_scheduled_with_default_increment(auth_client, live):
    stream, product = live
    resp = _create(auth_client, stream, product)
    assert resp.status_code == 201
    body = resp.json()
    assert body["status"] == "scheduled"
    assert body["bid_increment"] == "5.00"
    assert "reserve_price" not in body


@pytest.mark.parametrize(("price", "inc"), [("99", "5"), ("100", "10"), ("999", "10"), ("1000", "25")])
def test_default_increment_bands(price, inc):
    assert default_increment(Decimal(price)) == Decimal(inc)


def test_only_host_of_live_stream_creates_lots(auth_client, live):
    stream, product = live
    stranger = UserFactory()
    resp = auth_client(stranger).post(
        f"/api/v1/streams/{stream.pk}/auctions/",
        {"product_id": str(product.pk), "starting_price": "50", "duration_seconds": 60},
        format="json",
    )
    assert resp.status_code == 403
    stream.status = StreamStatus.ENDED
    stream.save()
    assert _create(auth_client, stream, product).status_code == 409


@pytest.mark.parametrize("duration", [9, 601])
def test_duration_out_of_range_is_400(auth_client, live, duration):
    stream, product = live
    assert _create(auth_client, stream, product, duration_seconds=duration).status_code == 400


def test_listing_in_a_lot_is_held_and_cannot_join_another_lot(auth_client, live):
    stream, product = live
    assert _create(auth_client, stream, product).status_code == 201
    assert product_hold(product_id=product.pk).kind == "auction"
    assert _create(auth_client, stream, product).status_code == 409


def test_a_listing_in_a_lot_is_neither_bought_nor_offered_on_until_the_lot_ends(
    auth_client, live, checkout, fake_stripe
):
    stream, product = live
    buyer = UserFactory()

    def refused() -> None:
        resp = checkout(buyer, product_id=str(product.pk))
        assert resp.status_code == 409 and _code(resp) == "product_reserved"
        offer = {"product_id": str(product.pk), "offered_price": str(product.price - 1)}
        resp = auth_client(buyer).post("/api/v1/offers/", offer, format="json")
        assert resp.status_code == 409 and _code(resp) == "product_reserved"

    lot_id = _create(auth_client, stream, product).json()["id"]
    refused()  # scheduled
    assert auth_client(stream.user).post(f"/api/v1/auctions/{lot_id}/start/").status_code == 200
    refused()  # running
    assert fake_stripe.payment_intents == {}
    # the lot ends without a bid (no sale): the listing is anyone's again
    Auction.objects.filter(pk=lot_id).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("close_auctions", stdout=StringIO())
    assert Auction.objects.get(pk=lot_id).outcome == AuctionOutcome.NO_SALE
    assert checkout(buyer, product_id=str(product.pk)).status_code == 201


def test_one_running_lot_per_stream(auth_client, live):
    stream, _ = live
    _running(auth_client, live)
    other = ProductFactory(seller=stream.user)
    resp = _create(auth_client, stream, other)
    resp = auth_client(stream.user).post(f"/api/v1/auctions/{resp.json()['id']}/start/")
    assert resp.status_code == 409
    assert _code(resp) == "auction_running"


def test_bid_rules(auth_client, live):
    lot = _running(auth_client, live)
    alice, bob = UserFactory(), UserFactory()
    assert _code(_bid(auth_client, alice, lot, amount="40")) == "bid_too_low"
    resp = _bid(auth_client, alice, lot, amount="50")
    assert resp.status_code == 201
    assert resp.json()["accepted_amount"] == "50.00" and resp.json()["is_leader"] is True
    assert _code(_bid(auth_client, bob, lot, amount="54")) == "bid_too_low"
    assert _bid(auth_client, bob, lot, amount="55").status_code == 201
    assert _code(_bid(auth_client, lot.host, lot, amount="100")) == "own_auction"


def test_bid_on_scheduled_and_closed_lots(auth_client, live):
    stream, product = live
    lot = Auction.objects.get(pk=_create(auth_client, stream, product).json()["id"])
    assert _code(_bid(auth_client, UserFactory(), lot, amount="60")) == "auction_not_started"
    auth_client(stream.user).post(f"/api/v1/auctions/{lot.pk}/start/")
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert _code(_bid(auth_client, UserFactory(), lot, amount="60")) == "auction_closed"


def test_bidder_not_allowed_unverified_and_blocked(auth_client, live):
    lot = _running(auth_client, live)
    unverified = UserFactory(is_verified=False)
    assert _code(_bid(auth_client, unverified, lot, amount="60")) == "bidder_not_allowed"
    blocked = UserFactory()
    block_create(blocker=lot.host, blocked=blocked)
    assert _code(_bid(auth_client, blocked, lot, amount="60")) == "bidder_not_allowed"
    blocker = UserFactory()
    block_create(blocker=blocker, blocked=lot.host)
    assert _code(_bid(auth_client, blocker, lot, amount="60")) == "bidder_not_allowed"


def test_unpaid_won_lot_is_a_strike(auth_client, live):
    """The sale made at an earlier lot's hammer ended unpaid: no bids in any show."""
    from payments.models import SaleSource, Transaction, TransactionStatus

    stream, _ = live
    deadbeat = UserFactory()
    old = ProductFactory(seller=stream.user)
    earlier = Auction.objects.create(
        stream=stream,
        product=old,
        host=stream.user,
        status=AuctionStatus.CLOSED,
        outcome=AuctionOutcome.SOLD,
        starting_price=10,
        bid_increment=5,
        duration_seconds=60,
        winner=deadbeat,
        closed_at=timezone.now() - timedelta(hours=2),
    )
    Transaction.objects.create(
        buyer=deadbeat,
        seller=stream.user,
        product=old,
        amount=10,
        platform_fee=1,
        seller_payout=9,
        feed_type=old.feed_type,
        status=TransactionStatus.FAILED,
        failure_reason="checkout_expired",
        source=SaleSource.AUCTION,
        source_id=earlier.pk,
    )
    lot = _running(auth_client, live)
    assert _code(_bid(auth_client, deadbeat, lot, amount="60")) == "bidder_not_allowed"


def test_proxy_bidding(auth_client, live):
    lot = _running(auth_client, live)
    alice, bob = UserFactory(), UserFactory()
    assert _bid(auth_client, alice, lot, max_amount="100").json()["accepted_amount"] == "50.00"
    # bob bids 70: alice's proxy answers at 75 and keeps the lead
    resp = _bid(auth_client, bob, lot, amount="70")
    assert resp.json()["is_leader"] is False
    lot.refresh_from_db()
    assert lot.current_price == Decimal("75") and lot.leader == alice
    # bob's proxy of 120 beats alice's 100: price = 105
    resp = _bid(auth_client, bob, lot, max_amount="120")
    assert resp.json() == {**resp.json(), "accepted_amount": "105.00", "is_leader": True}
    # a tie with the leader's ceiling goes to the earlier ceiling
    carol = UserFactory()
    assert _bid(auth_client, carol, lot, max_amount="120").json()["is_leader"] is False
    lot.refresh_from_db()
    assert lot.leader == bob and lot.current_price == Decimal("120")


@given(
    maxes=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=12),
    inc=st.sampled_from([1, 5, 10, 25]),
)
@hsettings(max_examples=200, deadline=None)
def test_proxy_arithmetic_property(maxes, inc):
    """Price = min(highest max, second-highest + inc) (at least the start), ties to the earlier."""
    start, increment = Decimal(1), Decimal(inc)
    price = leader_max = None
    leader = None
    accepted = []
    for i, m in enumerate(Decimal(x) for x in maxes):
        minimum = start if price is None else price + increment
        if m < minimum or i == leader:
            continue
        r = apply_proxy(
            current_price=price,
            leader_max=leader_max,
            increment=increment,
            starting_price=start,
            bid_max=m,
            is_proxy=True,
        )
        assert price is None or r.price > price
        price, leader_max = r.price, r.leader_max
        if r.new_leads:
            leader = i
        accepted.append(m)
        assert price <= leader_max
    if accepted:
        ordered = sorted(accepted, reverse=True)
        top = ordered[0]
        assert leader_max == top
        assert maxes.index(int(top)) == leader  # the earliest of equal ceilings leads
        if len(ordered) > 1:
            assert price >= min(top, ordered[1])


def test_anti_sniping_extends_unless_sudden_death(auth_client, live, settings):
    settings.AUCTION_EXTEND_SECONDS = 10
    lot = _running(auth_client, live)
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() + timedelta(seconds=3))
    before = timezone.now()
    resp = _bid(auth_client, UserFactory(), lot, amount="50")
    lot.refresh_from_db()
    assert lot.ends_at >= before + timedelta(seconds=10)
    assert resp.json()["ends_at"]


def test_sudden_death_does_not_extend(auth_client, live):
    lot = _running(auth_client, live, sudden_death=True)
    end = timezone.now() + timedelta(seconds=3)
    Auction.objects.filter(pk=lot.pk).update(ends_at=end)
    _bid(auth_client, UserFactory(), lot, amount="50")
    lot.refresh_from_db()
    assert lot.ends_at == end


def test_close_without_traffic_picks_one_winner_and_is_idempotent(auth_client, live):
    lot = _running(auth_client, live)
    alice = UserFactory()
    _bid(auth_client, alice, lot, amount="50")
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("close_auctions")
    call_command("close_auctions")
    lot.refresh_from_db()
    assert (lot.status, lot.outcome, lot.winner) == (AuctionStatus.CLOSED, AuctionOutcome.SOLD, alice)
    body = auth_client(alice).get(f"/api/v1/auctions/{lot.pk}/").json()
    assert body["winner"] == alice.username and body["status"] == "closed"
    # the winner's pending sale holds the listing for the payment window
    hold = product_hold(product_id=lot.product_id)
    assert hold.kind == "checkout" and hold.buyer_id == alice.pk


def test_running_lot_is_not_closed_early(auth_client, live):
    lot = _running(auth_client, live)
    call_command("close_auctions")
    lot.refresh_from_db()
    assert lot.status == AuctionStatus.RUNNING


def test_reserve_not_met_is_no_sale(auth_client, live):
    lot = _running(auth_client, live, reserve_price="500")
    _bid(auth_client, UserFactory(), lot, amount="60")
    assert auth_client(UserFactory()).get(f"/api/v1/auctions/{lot.pk}/").json()["reserve_met"] is False
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("close_auctions")
    lot.refresh_from_db()
    assert (lot.outcome, lot.winner) == (AuctionOutcome.NO_SALE, None)


def test_events_are_published(auth_client, live, monkeypatch):
    seen = []
    monkeypatch.setattr("soukloop.events.publish", lambda t, **kw: seen.append((t, kw["channel"])))
    monkeypatch.setattr("soukloop.events.publish_many", lambda items, **kw: seen.extend((t, c) for t, c, _d in items))
    lot = _running(auth_client, live)
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() + timedelta(seconds=2))
    _bid(auth_client, UserFactory(), lot, amount="50")
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("close_auctions")
    channel = f"stream:{lot.stream_id}"
    assert seen == [
        ("auction.started", channel),
        ("auction.bid", channel),
        ("auction.extended", channel),
        ("auction.closed", channel),
        ("auction.won", f"user:{Auction.objects.get(pk=lot.pk).winner_id}"),
    ]


def test_lists_newest_first_with_constant_queries(auth_client, live, django_assert_max_num_queries):
    lot = _running(auth_client, live)
    for i in range(5):
        _bid(auth_client, UserFactory(), lot, amount=str(50 + 5 * i))
    client = auth_client(UserFactory())
    with django_assert_max_num_queries(4):
        bids = client.get(f"/api/v1/auctions/{lot.pk}/bids/").json()["results"]
    assert [b["amount"] for b in bids] == ["70.00", "65.00", "60.00", "55.00", "50.00"]
    with django_assert_max_num_queries(3):
        lots = client.get(f"/api/v1/streams/{lot.stream_id}/auctions/").json()["results"]
    assert lots[0]["current_price"] == "70.00" and lots[0]["bid_count"] == 5
    assert Bid.objects.count() == 5


def test_close_task_at_ends_at_closes_only_when_due(auth_client, live):
    from auctions.tasks import close_lot as close_lot_task

    lot = _running(auth_client, live)
    close_lot_task(str(lot.pk))  # early (e.g. a late bid extended the lot): nothing changes
    lot.refresh_from_db()
    assert lot.status == AuctionStatus.RUNNING
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    close_lot_task(str(lot.pk))
    close_lot_task(str(lot.pk))
    lot.refresh_from_db()
    assert (lot.status, lot.outcome) == (AuctionStatus.CLOSED, AuctionOutcome.NO_SALE)


def test_start_schedules_the_close_at_ends_at_and_survives_a_broker_outage(
    auth_client, live, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from auctions import tasks

    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)  # as with a broker
    calls = []
    monkeypatch.setattr(tasks.close_lot, "apply_async", lambda **kw: calls.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        lot = _running(auth_client, live)
    assert calls == [{"args": [str(lot.pk)], "eta": lot.ends_at}]

    def down(**kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.close_lot, "apply_async", down)
    stream, _ = live
    other = ProductFactory(seller=stream.user)
    Auction.objects.filter(pk=lot.pk).update(status=AuctionStatus.CLOSED)
    resp = _create(auth_client, stream, other)
    with django_capture_on_commit_callbacks(execute=True):
        started = auth_client(stream.user).post(f"/api/v1/auctions/{resp.json()['id']}/start/")
    assert started.status_code == 200
