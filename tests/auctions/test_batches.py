"""A batch of one lot's bids (``place_bids``, what a socket process sends): judged one after
another under one lock, written with one insert, and heard by the room once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from auctions.models import Auction, Bid
from auctions.services import BidRequest, BidResult, BidTooLow, place_bids
from soukloop.errors import Conflict
from tests.auctions.conftest import won_lot
from tests.auctions.test_auctions import _running
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _published(monkeypatch) -> list[tuple[str, str, dict]]:
    seen: list[tuple[str, str, dict]] = []
    monkeypatch.setattr("soukloop.events.publish", lambda t, **kw: seen.append((t, kw["channel"], dict(kw["data"]))))
    monkeypatch.setattr(
        "soukloop.events.publish_many", lambda items, **kw: seen.extend((t, c, dict(d)) for t, c, d in items)
    )
    return seen


def test_a_batch_is_judged_in_order_and_written_once(auth_client, live, monkeypatch, django_assert_max_num_queries):
    lot = _running(auth_client, live)  # starts at 50, increment 5
    amy, bob, cat = UserFactory(), UserFactory(), UserFactory()
    seen = _published(monkeypatch)
    batch = [
        BidRequest(bidder=amy, amount=Decimal("50")),
        BidRequest(bidder=bob, amount=Decimal("50")),  # was enough when sent; not after amy's
        BidRequest(bidder=bob, amount=Decimal("60")),
        BidRequest(bidder=cat, amount=Decimal("65")),
        BidRequest(bidder=lot.host, amount=Decimal("500")),  # the host: refused, the rest go on
        BidRequest(bidder=amy, amount=Decimal("70")),
    ]
    # lock the lot, one insert of the bids, one update of the lot (+ the savepoint and its
    # release: the test runs inside a transaction)
    with django_assert_max_num_queries(5):
        answers = place_bids(auction_id=lot.pk, bids=batch)

    assert [type(a).__name__ for a in answers] == [
        "BidResult",
        "BidTooLow",
        "BidResult",
        "BidResult",
        "Conflict",
        "BidResult",
    ]
    assert answers[1].minimum == Decimal("55")
    assert answers[4].code == "own_auction"
    assert [a.accepted_amount for a in answers if isinstance(a, BidResult)] == [50, 60, 65, 70]
    assert answers[-1].is_leader and answers[-1].next_minimum == Decimal("75")
    rows = sorted(Bid.objects.filter(auction=lot).values_list("amount", "bidder_id"))
    assert rows == [(50, amy.pk), (60, bob.pk), (65, cat.pk), (70, amy.pk)]
    lot.refresh_from_db()
    assert (lot.current_price, lot.leader, lot.bid_count) == (Decimal("70"), amy, 4)

    # The room hears the lot once, as the batch left it; each bidder who lost the lead and
    # does not hold it at the end is told once (amy took it back: she is not told).
    rooms = [(t, d.get("amount"), d.get("bid_count")) for t, c, d in seen if c.startswith("stream:")]
    assert rooms == [("auction.bid", "70", 4)]
    outbid = sorted(c for t, c, _d in seen if t == "auction.outbid")
    assert outbid == sorted([f"user:{bob.pk}", f"user:{cat.pk}"])


def test_every_bid_of_a_batch_refused_changes_nothing_and_publishes_nothing(auth_client, live, monkeypatch):
    lot = _running(auth_client, live)
    Auction.objects.filter(pk=lot.pk).update(status="closed")
    seen = _published(monkeypatch)
    answers = place_bids(auction_id=lot.pk, bids=[BidRequest(bidder=UserFactory(), amount=Decimal("80"))] * 3)
    assert all(isinstance(a, Conflict) and a.code == "auction_closed" for a in answers)
    assert not Bid.objects.filter(auction=lot).exists() and seen == []


def test_a_bid_too_low_tells_the_minimum(auth_client, live):
    lot = _running(auth_client, live)
    (answer,) = place_bids(auction_id=lot.pk, bids=[BidRequest(bidder=UserFactory(), amount=Decimal("40"))])
    assert isinstance(answer, BidTooLow) and (answer.code, answer.minimum) == ("bid_too_low", Decimal("50"))


def test_a_batchs_refusals_are_freed_without_the_cycle_collector(auth_client, live):
    """A refusal kept with its traceback held the batch's frame, which held the answers: every
    batch with a refused bid became a reference cycle only the cycle collector freed, and on a
    busy lot its collections stalled the socket process for 50-100 ms."""
    import gc
    import weakref

    lot = _running(auth_client, live)
    batch = [BidRequest(bidder=UserFactory(), amount=Decimal("40")) for _ in range(3)]
    gc.collect()
    gc.disable()
    try:
        answers = place_bids(auction_id=lot.pk, bids=batch)
        assert all(isinstance(a, BidTooLow) for a in answers)
        kept = [weakref.ref(a) for a in answers]
        del answers
        assert [ref() for ref in kept] == [None, None, None]
    finally:
        gc.enable()


def test_bids_that_ask_for_their_bidders_check_are_refused_alone(auth_client, live):
    """A socket's bid may carry its bidder's check (``check_bidder``): a refused bidder's bid is
    answered with the refusal in its place, and the rest of the batch goes on."""
    lot = _running(auth_client, live)  # starts at 50, increment 5
    amy, unverified, bob = UserFactory(), UserFactory(is_verified=False), UserFactory()
    answers = place_bids(
        auction_id=lot.pk,
        bids=[
            BidRequest(bidder=amy, amount=Decimal("50"), check_bidder=True),
            BidRequest(bidder=unverified, amount=Decimal("55"), check_bidder=True),
            BidRequest(bidder=lot.host, amount=Decimal("60"), check_bidder=True),
            BidRequest(bidder=bob, amount=Decimal("55")),
        ],
    )
    assert [getattr(a, "code", "accepted") for a in answers] == [
        "accepted",
        "bidder_not_allowed",
        "own_auction",
        "accepted",
    ]
    assert [a.accepted_amount for a in answers if isinstance(a, BidResult)] == [50, 55]
    assert sorted(Bid.objects.filter(auction=lot).values_list("amount", flat=True)) == [50, 55]


@pytest.mark.parametrize("fine", [2, 30])
def test_many_bidders_checks_in_one_batch_agree_with_the_one_bidder_rule(
    auth_client, live, settings, fine, django_assert_max_num_queries
):
    """A busy lot's first batch carries every bidder's check: the verdicts are the one-bidder
    rule's (``bidder_check``), in the same number of queries for 2 or 30 fine bidders."""
    from accounts.services import block_create
    from auctions.services import bidder_check
    from payments.models import TransactionStatus

    settings.AUCTION_UNPAID_STRIKES = 2
    lot = _running(auth_client, live)  # starts at 50, increment 5
    host = lot.host
    unverified = UserFactory(is_verified=False)
    blocked_by_host, blocking_host = UserFactory(), UserFactory()
    block_create(blocker=host, blocked=blocked_by_host)
    block_create(blocker=blocking_host, blocked=host)
    struck, paid_since = UserFactory(), UserFactory()
    won_lot(struck, TransactionStatus.FAILED)
    won_lot(paid_since, TransactionStatus.FAILED)  # then two paid wins: out of the window
    won_lot(paid_since, TransactionStatus.COMPLETED)
    won_lot(paid_since, TransactionStatus.COMPLETED)
    people = [unverified, blocked_by_host, blocking_host, struck, paid_since, host] + [
        UserFactory() for _ in range(fine)
    ]
    bids = [BidRequest(bidder=p, max_amount=Decimal(100 + 10 * n), check_bidder=True) for n, p in enumerate(people)]
    bids.append(BidRequest(bidder=struck, max_amount=Decimal("5000"), check_bidder=True))  # twice in the batch

    expected = []
    for person in [*people, struck]:
        try:
            bidder_check(bidder=person, auction_id=lot.pk)
            expected.append("fine")
        except Conflict as refusal:
            expected.append(refusal.code)
    assert expected[:6] == ["bidder_not_allowed"] * 4 + ["fine", "own_auction"]

    # the host, blocks and strikes once each; the lock, the insert and the lot's update
    with django_assert_max_num_queries(3 + 5):
        answers = place_bids(auction_id=lot.pk, bids=bids)
    assert ["fine" if isinstance(a, BidResult) else a.code for a in answers] == expected


def test_a_last_seconds_batch_extends_once(auth_client, live, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    lot = _running(auth_client, live)
    Auction.objects.filter(pk=lot.pk).update(ends_at=timezone.now() + timedelta(seconds=2))
    seen = _published(monkeypatch)
    place_bids(
        auction_id=lot.pk,
        bids=[BidRequest(bidder=UserFactory(), amount=Decimal(p)) for p in ("50", "55", "60")],
    )
    lot.refresh_from_db()
    extended = [d for t, _c, d in seen if t == "auction.extended"]
    assert len(extended) == 1 and extended[0]["ends_at"] == lot.ends_at.isoformat()
    assert lot.ends_at - timezone.now() > timedelta(seconds=settings.AUCTION_EXTEND_SECONDS - 2)


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "55"},
        {"max_amount": "120.50"},
        {"amount": "55", "max_amount": "60"},
        {},
        {"amount": "0"},
        {"amount": "-3"},
        {"amount": "12.345"},
        {"amount": "1e3"},
        {"amount": "abc"},
        {"amount": None},
        {"amount": ""},
        {"amount": "9999999999999"},
        {"max_amount": True},
        {"amount": 70},
    ],
)
def test_a_socket_bid_frame_is_judged_as_the_rest_bid_body(body):
    """The socket's cheap parse (``bid_frame_validate``) takes and refuses exactly what
    ``BidCreateSerializer`` does, with the same first error code and message."""
    from rest_framework.exceptions import ValidationError

    from auctions.serializers import BidCreateSerializer, bid_frame_validate

    ser = BidCreateSerializer(data=body)
    try:
        parsed = bid_frame_validate(body)
    except ValidationError as invalid:
        first = invalid.detail[0]
        assert not ser.is_valid()
        _field, errors = next(iter(ser.errors.items()))
        assert (first.code, str(first)) == (errors[0].code, str(errors[0]))
    else:
        assert ser.is_valid() and parsed == dict(ser.validated_data)
