"""Reads of the auctions app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from auctions.models import Auction, AuctionStatus, Bid
from catalog.holds import Hold
from payments.models import SaleSource, Transaction


def auction_hold(product_id: Any, now: datetime) -> Hold | None:
    """catalog.holds source: a listing in a scheduled or running lot is held for nobody (no one
    may buy it, make an offer on it or put it in another lot). After the hammer the winner's
    pending sale (payments' checkout source, until its ``pay_by``) holds it for them."""
    lot = (
        Auction.objects.filter(product_id=product_id, status__in=[AuctionStatus.SCHEDULED, AuctionStatus.RUNNING])
        .order_by("-created_at")
        .only("pk", "ends_at")
        .first()
    )
    if lot is not None:
        return Hold(kind="auction", buyer_id=None, until=lot.ends_at, ref=lot.pk)
    return None


def _with_sale(lots: QuerySet[Auction]) -> QuerySet[Auction]:
    """Each lot with its sale's status, why it failed and its pay-by time (``sale_status``,
    ``sale_failure_reason``, ``sale_pay_by``, ``sale_id``), in the same query."""
    sale = Transaction.objects.filter(source=SaleSource.AUCTION, source_id=OuterRef("pk")).order_by("-created_at")
    return lots.annotate(
        sale_id=Subquery(sale.values("pk")[:1]),
        sale_status=Subquery(sale.values("status")[:1]),
        sale_failure_reason=Subquery(sale.values("failure_reason")[:1]),
        sale_pay_by=Subquery(sale.values("pay_by")[:1]),
    )


def auction_list(*, stream_id: Any) -> QuerySet[Auction]:
    return _with_sale(Auction.objects.filter(stream_id=stream_id).select_related("product", "leader", "winner"))


def auction_get(*, auction_id: Any) -> Auction | None:
    return _with_sale(Auction.objects.select_related("product", "leader", "winner").filter(pk=auction_id)).first()


def bid_list(*, auction_id: Any) -> QuerySet[Bid]:
    return Bid.objects.filter(auction_id=auction_id).select_related("bidder").order_by("-created_at")
