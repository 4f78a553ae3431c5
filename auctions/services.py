"""Writes of the auctions app: lots, bids (with eBay-style proxy bidding) and the close.

Every bid and the close lock the auction row (``auctions.locks.auction_for_update``) and read
the clock under that lock, so they are applied one after another in a single order; see
docs/auctions.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import blocked_among, is_blocked_between, is_blocked_between_ids
from auctions.locks import auction_for_update
from auctions.models import Auction, AuctionOutcome, AuctionStatus, Bid
from catalog.holds import product_hold
from catalog.locks import product_for_update
from messaging.models import Offer
from messaging.services import offer_propose
from payments.models import FailureReason, TransactionStatus
from payments.selectors import lot_buyers_with_unpaid, lot_sale, lot_sales_unpaid
from payments.services import sale_cancel_for_voided_lot, sale_reserve_for_lot
from soukloop import events
from soukloop.celery import app as celery_app
from soukloop.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from streams.models import Stream, StreamStatus

logger = logging.getLogger(__name__)


def default_increment(price: Decimal) -> Decimal:
    """The bid increment by price band: under 100 -> 5, under 1,000 -> 10, else 25."""
    if price < 100:
        return Decimal("5")
    if price < 1000:
        return Decimal("10")
    return Decimal("25")


@dataclass(frozen=True)
class ProxyResult:
    """The lot after a bid: price, leader (``"new"`` or ``"old"``) and the leader's ceiling."""

    price: Decimal
    new_leads: bool
    leader_max: Decimal


def apply_proxy(
    *,
    current_price: Decimal | None,
    leader_max: Decimal | None,
    increment: Decimal,
    starting_price: Decimal,
    bid_max: Decimal,
    is_proxy: bool,
) -> ProxyResult:
    """The proxy arithmetic, pure: the caller has already checked ``bid_max`` >= the minimum.

    The price moves to one increment over the second-highest ceiling, capped at the highest;
    a tie goes to the earlier ceiling (the current leader). A plain ``amount`` bid that takes
    the lead sets the price to that amount.
    """
    if leader_max is None or current_price is None:
        price = starting_price if is_proxy else bid_max
        return ProxyResult(price=price, new_leads=True, leader_max=bid_max)
    if bid_max > leader_max:
        price = min(bid_max, leader_max + increment) if is_proxy else bid_max
        return ProxyResult(price=max(price, current_price + increment), new_leads=True, leader_max=bid_max)
    return ProxyResult(price=min(leader_max, bid_max + increment), new_leads=False, leader_max=leader_max)


def _check_payable(amount: Decimal, *, attr: str) -> None:
    """A lot must be payable through checkout: Stripe takes AED 2.00 to 999,999.99."""
    if not settings.PAYMENT_MIN_AMOUNT <= amount <= settings.PAYMENT_MAX_AMOUNT:
        raise ValidationError(
            _("Amounts must be between AED %(min)s and AED %(max)s.")
            % {"min": settings.PAYMENT_MIN_AMOUNT, "max": settings.PAYMENT_MAX_AMOUNT},
            code="amount_out_of_range",
            attr=attr,
        )


def minimum_bid(auction: Auction) -> Decimal:
    if auction.current_price is None:
        return auction.starting_price
    return auction.current_price + auction.bid_increment


def _channel(auction: Auction) -> str:
    return f"stream:{auction.stream_id}"


@transaction.atomic
def create_lot(
    *,
    host: User,
    stream_id: Any,
    product_id: Any,
    starting_price: Decimal,
    duration_seconds: int,
    bid_increment: Decimal | None = None,
    sudden_death: bool = False,
    reserve_price: Decimal | None = None,
) -> Auction:
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        raise NotFound(_("No such stream."))
    if stream.user_id != host.pk:
        raise PermissionDenied(_("Only the host can put up lots."), code="not_stream_host")
    if stream.status != StreamStatus.LIVE:
        raise Conflict(_("Lots can only be put up while the stream is live."), code="stream_not_live")
    if not 10 <= duration_seconds <= 600:
        raise ValidationError(_("Duration must be 10 to 600 seconds."), code="invalid", attr="duration_seconds")
    _check_payable(starting_price, attr="starting_price")
    if reserve_price is not None:
        _check_payable(reserve_price, attr="reserve_price")
    product = product_for_update(product_id=product_id)
    if product is None or product.seller_id != host.pk:
        raise ValidationError(_("Pick one of your own listings."), code="invalid", attr="product_id")
    if not product.is_available or product.deleted_at is not None:
        raise Conflict(_("This listing is not available."), code="product_unavailable")
    if product_hold(product_id=product.pk) is not None:
        raise Conflict(_("This listing is held (checkout, offer or another lot)."), code="product_held")
    return Auction.objects.create(
        stream=stream,
        product=product,
        host=host,
        starting_price=starting_price,
        duration_seconds=duration_seconds,
        bid_increment=bid_increment or default_increment(starting_price),
        sudden_death=sudden_death,
        reserve_price=reserve_price,
    )


@transaction.atomic
def start_lot(*, host: User, auction_id: Any) -> Auction:
    auction = auction_for_update(auction_id=auction_id)
    if auction is None:
        raise NotFound(_("No such lot."))
    if auction.host_id != host.pk:
        raise PermissionDenied(_("Only the host can start a lot."), code="not_stream_host")
    if auction.status != AuctionStatus.SCHEDULED:
        raise Conflict(_("This lot has already started."), code="auction_already_started")
    now = timezone.now()
    auction.status = AuctionStatus.RUNNING
    auction.started_at = now
    auction.ends_at = now + timedelta(seconds=auction.duration_seconds)
    try:
        with transaction.atomic():
            auction.save(update_fields=["status", "started_at", "ends_at", "updated_at"])
    except IntegrityError:
        raise Conflict(_("Another lot is running in this stream."), code="auction_running") from None
    transaction.on_commit(lambda: _schedule_close(auction))
    events.publish(
        "auction.started",
        channel=_channel(auction),
        data={
            "auction_id": str(auction.pk),
            "starting_price": str(auction.starting_price),
            "ends_at": auction.ends_at.isoformat(),
        },
    )
    return auction


def _schedule_close(auction: Auction) -> None:
    from auctions.tasks import close_lot as close_lot_task

    if celery_app.conf.task_always_eager:  # the app's own setting (tests set it there)
        return  # eager mode would run it at once; the beat sweep and tests close lots instead
    try:
        close_lot_task.apply_async(args=[str(auction.pk)], eta=auction.ends_at)
    except Exception:  # broker down: the beat's close_auctions sweep still closes the lot
        logger.warning("auction close task not scheduled for %s", auction.pk, exc_info=True)


def _strike_window() -> dict[str, Any]:
    return {
        "last": int(getattr(settings, "AUCTION_UNPAID_STRIKES", 2)),
        "since": timezone.now() - timedelta(days=int(getattr(settings, "AUCTION_STRIKE_DAYS", 90))),
    }


def _unpaid_strikes(user: User) -> int:
    """Won lots left unpaid among the last AUCTION_UNPAID_STRIKES lots this user won (within
    AUCTION_STRIKE_DAYS): the sale of each won lot is the one source of truth (payments)."""
    return lot_sales_unpaid(buyer_id=user.pk, **_strike_window())


def bidder_check(*, bidder: User, auction_id: Any) -> None:
    """Raise the refusal ``bidder`` would get on ``auction_id`` for who they are (own lot,
    unverified phone, a block, a strike); nothing about the price or the time."""
    host_id = Auction.objects.filter(pk=auction_id).values_list("host_id", flat=True).first()
    if host_id is None:
        raise NotFound(_("No such lot."))
    _check_bidder(host_id=host_id, bidder=bidder)


def _own_lot() -> Conflict:
    return Conflict(_("You cannot bid on your own lot."), code="own_auction")


def _unverified() -> Conflict:
    return Conflict(_("Verify your phone to bid."), code="bidder_not_allowed")


def _blocked() -> Conflict:
    return Conflict(_("You cannot bid on this lot."), code="bidder_not_allowed")


def _struck() -> Conflict:
    return Conflict(_("Pay for the lots you won before bidding again."), code="bidder_not_allowed")


def _check_bidder(*, host_id: Any, bidder: User) -> None:
    """Who may bid, asked before the lot's row lock is taken (none of it is the lot's state),
    so the lock is held only for the price check and the writes."""
    if host_id == bidder.pk:
        raise _own_lot()
    if not bidder.is_verified:
        raise _unverified()
    if is_blocked_between_ids(user_a_id=bidder.pk, user_b_id=host_id):
        raise _blocked()
    if _unpaid_strikes(bidder) > 0:
        raise _struck()


class BidTooLow(Conflict):
    """409 ``bid_too_low``: the lot takes ``minimum`` or more now (a socket is told the figure)."""

    def __init__(self, minimum: Decimal) -> None:
        super().__init__(_("Bid at least %(min)s.") % {"min": minimum}, code="bid_too_low")
        self.minimum = minimum


@dataclass(frozen=True)
class BidResult:
    accepted_amount: Decimal
    is_leader: bool
    ends_at: datetime
    next_minimum: Decimal  # the lowest bid the lot takes now (from anyone but its leader)


@dataclass(frozen=True)
class BidRequest:
    """One bid of a batch (``place_bids``): exactly one of ``amount`` / ``max_amount``."""

    bidder: User
    amount: Decimal | None = None
    max_amount: Decimal | None = None
    # Ask who may bid (``bidder_check``) first, outside the lot's lock: a socket asks once per
    # lot per AUCTION_BIDDER_CHECK_SECONDS, in the batch's own trip to the database.
    check_bidder: bool = False


def _bid_max(amount: Decimal | None, max_amount: Decimal | None) -> Decimal:
    """The bid's ceiling, or the 400 for a bid that names neither or both, or is unpayable."""
    bid_max = amount if max_amount is None else max_amount
    if (amount is None) == (max_amount is None) or bid_max is None:
        raise ValidationError(_("Send either amount or max_amount."), code="invalid")
    if bid_max > settings.PAYMENT_MAX_AMOUNT:
        _check_payable(bid_max, attr="amount" if amount is not None else "max_amount")
    return bid_max


def place_bid(
    *,
    bidder: User,
    auction_id: Any,
    amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    bidder_checked: bool = False,
) -> BidResult:
    """Accept a bid (``amount``) or a proxy ceiling (``max_amount``) under the lot's row lock.

    What can be answered without the lock is answered first, from an unlocked read: who may
    bid, and a bid already too low or a lot already closed (a price only rises and a closed
    lot stays closed, so the locked check would refuse them too). Only a bid that may win
    waits for the lock, which is then held for the price check and the writes alone.
    ``bidder_checked``: the caller asked ``_check_bidder`` for this bidder and lot moments ago
    (a socket keeps the answer for AUCTION_BIDDER_CHECK_SECONDS)."""
    bid_max = _bid_max(amount, max_amount)
    request = BidRequest(bidder=bidder, amount=amount, max_amount=max_amount)
    if not bidder_checked:
        seen = (
            Auction.objects.filter(pk=auction_id)
            .only("host_id", "status", "current_price", "starting_price", "bid_increment", "leader_id")
            .first()
        )
        if seen is None:
            raise NotFound(_("No such lot."))
        if seen.host_id == bidder.pk:
            raise _own_lot()
        _check_bidder(host_id=seen.host_id, bidder=bidder)
        if seen.status in (AuctionStatus.CLOSED, AuctionStatus.VOIDED):
            raise Conflict(_("This lot is closed."), code="auction_closed")
        if seen.leader_id != bidder.pk and bid_max < minimum_bid(seen):
            raise BidTooLow(minimum_bid(seen))
    (answer,) = place_bids(auction_id=auction_id, bids=[request])
    if isinstance(answer, DomainError):
        raise answer
    return answer


@transaction.atomic
def place_bids(*, auction_id: Any, bids: Sequence[BidRequest]) -> list[BidResult | DomainError]:
    """Apply ``bids`` to one lot in the order given, in one transaction under its row lock.

    Each bid is judged as if it came alone right after the one before it (the same rules,
    clock read per bid), and answered with its result or its refusal; the accepted ones are
    written with one insert and the lot with one update. A socket process sends the bids
    that queued for a lot while its previous batch was at the database (realtime/relay.py):
    one lock, one round of writes for many bids. Who may bid is the caller's to have asked
    (``bidder_check``), as with ``place_bid(bidder_checked=True)``, unless a bid asks for it
    (``check_bidder``): those bidders are asked first, before the lock is taken, and a refused
    one's bid is answered with the refusal and left out."""
    refused = _bidder_refusals(auction_id, bids)
    if refused:
        going = [bid for index, bid in enumerate(bids) if index not in refused]
        placed = iter(_place_bids_locked(auction_id, going) if going else ())
        return [refused[index] if index in refused else next(placed) for index in range(len(bids))]
    return _place_bids_locked(auction_id, bids)


def _bidder_refusals(auction_id: Any, bids: Sequence[BidRequest]) -> dict[int, DomainError]:
    """The refusals of the bids that ask for their bidder's check, by position: the same rules
    as ``_check_bidder``, for all of them in three queries (the lot's host, the blocks, the
    strikes), however many ask. At the start of a busy lot, and each time its bidders' checks
    run out together, that is two hundred bidders in one batch."""
    due = [index for index, bid in enumerate(bids) if bid.check_bidder]
    if not due:
        return {}
    host_id = Auction.objects.filter(pk=auction_id).values_list("host_id", flat=True).first()
    if host_id is None:
        return {index: NotFound(_("No such lot.")) for index in due}
    bidders = {bids[index].bidder.pk: bids[index].bidder for index in due}
    verdicts: dict[Any, DomainError] = {}
    for bidder in bidders.values():
        if bidder.pk == host_id:
            verdicts[bidder.pk] = _own_lot()
        elif not bidder.is_verified:
            verdicts[bidder.pk] = _unverified()
    asked = [pk for pk in bidders if pk not in verdicts]
    for pk in blocked_among(user_id=host_id, others=asked):
        verdicts[pk] = _blocked()
    asked = [pk for pk in asked if pk not in verdicts]
    for pk in lot_buyers_with_unpaid(buyer_ids=asked, **_strike_window()):
        verdicts[pk] = _struck()
    return {index: verdicts[bids[index].bidder.pk] for index in due if bids[index].bidder.pk in verdicts}


def _place_bids_locked(auction_id: Any, bids: Sequence[BidRequest]) -> list[BidResult | DomainError]:
    auction = auction_for_update(auction_id=auction_id)
    if auction is None:
        return [NotFound(_("No such lot.")) for _bid in bids]
    answers: list[BidResult | DomainError] = []
    rows: list[Bid] = []
    changed = extended = False
    outbid: dict[Any, None] = {}  # who lost the lead during the batch, in order
    for request in bids:
        try:
            step = _apply_bid(auction, request, now=timezone.now())
        except DomainError as refusal:
            # Kept without its traceback: the traceback holds this frame, which holds
            # ``answers``, so a kept one made every batch with a refusal a reference cycle
            # (its bids, rows and frames) left for the cycle collector, whose pauses were
            # the socket process's longest stalls (docs/auctions.md, "Performance").
            answers.append(refusal.with_traceback(None))
            continue
        answers.append(step.result)
        changed = True
        extended = extended or step.extended
        if step.row is not None:
            rows.append(step.row)
        if step.outbid_id is not None:
            outbid[step.outbid_id] = None
    if rows:
        Bid.objects.bulk_create(rows)
    if changed:
        auction.save(update_fields=["leader", "leader_max", "current_price", "bid_count", "ends_at", "updated_at"])
    if rows:  # the price moved: the room hears the lot as the batch left it, once
        outbid.pop(auction.leader_id, None)  # lost the lead and took it back within the batch
        _publish_bid(auction, extended=extended, outbid_ids=list(outbid))
    return answers


@dataclass(frozen=True)
class _Step:
    """What one bid of a batch did to the locked lot (``_apply_bid``)."""

    result: BidResult
    row: Bid | None  # the bid to insert (None: the leader only raised their own max)
    extended: bool
    outbid_id: Any  # who lost the lead to it, or None


def _apply_bid(auction: Auction, request: BidRequest, *, now: datetime) -> _Step:
    """One bid on the locked lot, in memory: refuse it (nothing changed), or move the lot and
    say what changed (the caller writes the rows and publishes the events once per batch)."""
    bidder, amount, max_amount = request.bidder, request.amount, request.max_amount
    bid_max = _bid_max(amount, max_amount)
    if auction.host_id == bidder.pk:
        raise _own_lot()
    if auction.status == AuctionStatus.SCHEDULED:
        raise Conflict(_("This lot has not started."), code="auction_not_started")
    if auction.status != AuctionStatus.RUNNING or auction.ends_at is None or now >= auction.ends_at:
        raise Conflict(_("This lot is closed."), code="auction_closed")
    if auction.leader_id == bidder.pk:
        # The leader raises their ceiling: the price does not move.
        if max_amount is None or max_amount <= (auction.leader_max or 0):
            raise Conflict(_("You are already the highest bidder."), code="bid_too_low")
        auction.leader_max = max_amount
        result = BidResult(
            accepted_amount=auction.current_price or auction.starting_price,
            is_leader=True,
            ends_at=auction.ends_at,
            next_minimum=minimum_bid(auction),
        )
        return _Step(result=result, row=None, extended=False, outbid_id=None)
    if bid_max < minimum_bid(auction):
        raise BidTooLow(minimum_bid(auction))
    proxy = apply_proxy(
        current_price=auction.current_price,
        leader_max=auction.leader_max,
        increment=auction.bid_increment,
        starting_price=auction.starting_price,
        bid_max=bid_max,
        is_proxy=max_amount is not None,
    )
    accepted = proxy.price if proxy.new_leads else bid_max
    row = Bid(auction=auction, bidder=bidder, amount=accepted, max_amount=bid_max)
    outbid_id = auction.leader_id if proxy.new_leads else None
    if proxy.new_leads:
        auction.leader = bidder
    auction.leader_max = proxy.leader_max
    auction.current_price = proxy.price
    auction.bid_count += 1
    extend = int(getattr(settings, "AUCTION_EXTEND_SECONDS", 10))
    extended = False
    if not auction.sudden_death and auction.ends_at - now < timedelta(seconds=extend):
        auction.ends_at = now + timedelta(seconds=extend)
        extended = True
    result = BidResult(
        accepted_amount=accepted, is_leader=proxy.new_leads, ends_at=auction.ends_at, next_minimum=minimum_bid(auction)
    )
    return _Step(result=result, row=row, extended=extended, outbid_id=outbid_id if outbid_id != bidder.pk else None)


def _publish_bid(auction: Auction, *, extended: bool, outbid_ids: list[Any]) -> None:
    """The lot's state after a batch of bids: ``auction.bid`` (``bid_count`` orders them: a
    process that hears an older one after a newer drops it), ``auction.extended`` if any bid of
    the batch moved the end, and ``auction.outbid`` to each bidder who lost the lead in it."""
    if auction.ends_at is None:  # unreachable: a running lot has an end; narrows the type
        return
    channel = _channel(auction)
    batch: list[tuple[str, str | None, dict[str, Any]]] = [
        (
            "auction.bid",
            channel,
            {
                "auction_id": str(auction.pk),
                "amount": str(auction.current_price),
                "bidder": auction.leader.username if auction.leader else "",
                "ends_at": auction.ends_at.isoformat(),
                "next_minimum": str(minimum_bid(auction)),
                "bid_count": auction.bid_count,
            },
        )
    ]
    if extended:
        batch.append(
            ("auction.extended", channel, {"auction_id": str(auction.pk), "ends_at": auction.ends_at.isoformat()})
        )
    for outbid_id in outbid_ids:
        batch.append(
            (
                "auction.outbid",
                f"user:{outbid_id}",
                {
                    "auction_id": str(auction.pk),
                    "stream_id": str(auction.stream_id),
                    "user_id": str(outbid_id),
                    "amount": str(auction.current_price),
                    "ends_at": auction.ends_at.isoformat(),
                },
            )
        )
    # One delivery for the batch: the realtime sink numbers all its frames in one round trip.
    events.publish_many(batch)


@transaction.atomic
def close_lot(*, auction_id: Any, now: datetime | None = None) -> Auction | None:
    """Close a running lot whose time is up (idempotent: anything else is left as it is)."""
    auction = auction_for_update(auction_id=auction_id)
    now = now or timezone.now()
    if auction is None or auction.status != AuctionStatus.RUNNING or auction.ends_at is None or auction.ends_at > now:
        return auction
    auction.status = AuctionStatus.CLOSED
    auction.closed_at = now
    sale = None
    if auction.leader_id is not None and auction.reserve_met and auction.current_price is not None:
        # The winner's pending sale, in this transaction: the hammer and the sale commit
        # together or not at all.
        sale = sale_reserve_for_lot(
            buyer_id=auction.leader_id,
            product_id=auction.product_id,
            amount=auction.current_price,
            source_id=auction.pk,
            pay_by=now + timedelta(minutes=int(getattr(settings, "AUCTION_PAY_MINUTES", 30))),
        )
    if sale is not None:
        auction.outcome = AuctionOutcome.SOLD
        auction.winner_id = auction.leader_id
    else:
        auction.outcome = AuctionOutcome.NO_SALE
    auction.save(update_fields=["status", "closed_at", "outcome", "winner", "updated_at"])
    events.publish(
        "auction.closed",
        channel=_channel(auction),
        data={
            "auction_id": str(auction.pk),
            "outcome": auction.outcome,
            "amount": str(auction.current_price) if auction.outcome == AuctionOutcome.SOLD else None,
            "winner": auction.winner.username if auction.winner else None,
            "reserve_met": auction.reserve_met if auction.leader_id else None,
        },
    )
    if sale is not None:
        events.publish(
            "auction.won",
            channel=f"user:{sale.buyer_id}",
            data={
                "auction_id": str(auction.pk),
                "user_id": str(sale.buyer_id),
                "transaction_id": str(sale.pk),
                "product_id": str(auction.product_id),
                "product_title": auction.product.title,
                "amount": str(sale.amount),
                "pay_by": sale.pay_by.isoformat() if sale.pay_by else None,
            },
        )
    return auction


def close_due_lots(*, now: datetime | None = None) -> int:
    """Close every running lot past its end (the beat's ``close_auctions``); returns how many."""
    now = now or timezone.now()
    ids = list(Auction.objects.filter(status=AuctionStatus.RUNNING, ends_at__lte=now).values_list("pk", flat=True))
    closed = 0
    for auction_id in ids:
        lot = close_lot(auction_id=auction_id, now=now)
        if lot is not None and lot.status == AuctionStatus.CLOSED and lot.closed_at == now:
            closed += 1
    return closed


@transaction.atomic
def void_lot(*, auction_id: Any) -> Auction | None:
    """Staff: void a lot (e.g. shill bidding); ``None`` when it is already voided (idempotent).

    A scheduled or running lot ends with no winner, and the listing's hold with it. A closed lot
    may be voided too, as shill bidding is often found after the hammer: a sale still awaiting
    payment is cancelled, with its PaymentIntent, and is no strike against the winner
    (``payments.services.sale_cancel_for_voided_lot``); a paid sale is refused (409
    ``lot_paid``: staff refund it first, then void), and so is a lot already offered to the
    next buyer (409 ``second_chance_sent``: that sale is the runner-up's own). A voided closed
    lot keeps the outcome and winner the hammer gave it, as history. The returned lot's
    ``voided_from`` is the status it had under the lock (what the staff audit records)."""
    auction = auction_for_update(auction_id=auction_id)
    if auction is None or auction.status == AuctionStatus.VOIDED:
        return None
    auction.voided_from = auction.status
    cancelled = None
    if auction.status == AuctionStatus.CLOSED:
        if auction.second_chance_offer_id is not None:
            raise Conflict(
                _("This lot was offered to the next buyer; that sale stands on its own."), code="second_chance_sent"
            )
        sale = sale_cancel_for_voided_lot(source_id=auction.pk)
        if sale is not None and sale.failure_reason == FailureReason.LOT_VOIDED:
            cancelled = sale
    else:
        auction.closed_at = timezone.now()
    auction.status = AuctionStatus.VOIDED
    auction.save(update_fields=["status", "closed_at", "updated_at"])
    events.publish(
        "auction.closed",
        channel=_channel(auction),
        data={"auction_id": str(auction.pk), "outcome": "voided", "amount": None, "winner": None},
    )
    if cancelled is not None:
        events.publish(
            "auction.voided",
            channel=f"user:{cancelled.buyer_id}",
            data={
                "auction_id": str(auction.pk),
                "user_id": str(cancelled.buyer_id),
                "host_id": str(auction.host_id),
                "transaction_id": str(cancelled.pk),
                "product_title": auction.product.title,
            },
        )
    logger.info("lot voided", extra={"auction_id": str(auction.pk), "sale_cancelled": cancelled is not None})
    return auction


@dataclass(frozen=True)
class SecondChance:
    offer: Offer
    bidder: User
    price: Decimal


def _second_chance_target(auction: Auction) -> tuple[User, Decimal]:
    """Who may get the lot now, at what price: the runner-up at their highest bid when the winner
    left it unpaid; the high bidder at their highest bid when the reserve was not met."""
    if auction.outcome == AuctionOutcome.NO_SALE:
        if auction.leader is None or auction.leader_max is None:
            raise Conflict(_("Nobody bid on this lot."), code="second_chance_unavailable")
        return auction.leader, auction.leader_max
    sale = lot_sale(source_id=auction.pk)
    if sale is None or sale.status != TransactionStatus.FAILED:
        if sale is not None and sale.status == TransactionStatus.PENDING:
            raise Conflict(_("The winner may still pay for this lot."), code="second_chance_unavailable")
        raise Conflict(_("This lot is paid for."), code="second_chance_unavailable")
    bids = (
        Bid.objects.filter(auction=auction)
        .exclude(bidder_id=auction.winner_id)
        .select_related("bidder")
        .order_by("-max_amount", "created_at")
    )
    for bid in bids:
        if bid.bidder.is_active and not is_blocked_between(user_a=bid.bidder, user_b=auction.host):
            return bid.bidder, bid.max_amount
    raise Conflict(_("There is no runner-up to offer this lot to."), code="second_chance_unavailable")


@transaction.atomic
def second_chance_offer(*, host: User, auction_id: Any, message: str = "") -> SecondChance:
    """The host offers a closed lot to the next buyer, through the existing offers (a seller's
    offer the buyer accepts, then pays with ``offer_id``): once per lot."""
    auction = auction_for_update(auction_id=auction_id)
    if auction is None:
        raise NotFound(_("No such lot."))
    if auction.host_id != host.pk:
        raise PermissionDenied(_("Only the host can offer this lot."), code="not_stream_host")
    if auction.status != AuctionStatus.CLOSED:
        raise Conflict(_("The lot is not closed."), code="second_chance_unavailable")
    if auction.second_chance_offer_id is not None:
        raise Conflict(_("This lot was already offered to the next buyer."), code="second_chance_sent")
    bidder, price = _second_chance_target(auction)
    offer = offer_propose(
        seller=host,
        buyer=bidder,
        product_id=auction.product_id,
        price=price,
        message=message,
        fee_percent=Decimal(settings.PLATFORM_FEE_PERCENT_LIVE),  # the lot's sale, as its winner's
    )
    auction.second_chance_offer = offer
    auction.save(update_fields=["second_chance_offer", "updated_at"])
    logger.info("second-chance offer", extra={"auction_id": str(auction.pk), "offer_id": str(offer.pk)})
    return SecondChance(offer=offer, bidder=bidder, price=price)
