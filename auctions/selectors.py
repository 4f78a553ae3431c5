"""Reads of the auctions app."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from auctions.models import Auction, AuctionOutcome, AuctionStatus, Bid
from catalog.holds import Hold


def auction_hold(product_id: Any, now: datetime) -> Hold | None:
    """catalog.holds source: a listing in a scheduled or running lot is held for nobody; a sold
    lot is held for its winner for AUCTION_PAY_MINUTES after the hammer."""
    lot = (
        Auction.objects.filter(product_id=product_id, status__in=[AuctionStatus.SCHEDULED, AuctionStatus.RUNNING])
        .order_by("-created_at")
        .first()
    )
    if lot is not None:
        return Hold(kind="auction", buyer_id=None, until=lot.ends_at, ref=lot.pk)
    pay = timedelta(minutes=int(getattr(settings, "AUCTION_PAY_MINUTES", 30)))
    won = (
        Auction.objects.filter(product_id=product_id, outcome=AuctionOutcome.SOLD, closed_at__gt=now - pay)
        .order_by("-closed_at")
        .first()
    )
    if won is not None and won.closed_at is not None:
        return Hold(kind="auction", buyer_id=won.winner_id, until=won.closed_at + pay, ref=won.pk)
    return None


def auction_list(*, stream_id: Any) -> QuerySet[Auction]:
    return Auction.objects.filter(stream_id=stream_id).select_related("product", "leader", "winner")


def auction_get(*, auction_id: Any) -> Auction | None:
    return Auction.objects.select_related("product", "leader", "winner").filter(pk=auction_id).first()


def bid_list(*, auction_id: Any) -> QuerySet[Bid]:
    return Bid.objects.filter(auction_id=auction_id).select_related("bidder").order_by("-created_at")
