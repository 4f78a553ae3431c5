"""Platform fee and seller payout: one function, Decimal, half-up to the fils."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from catalog.models import FeedType
from soukloop.money import quantize_aed


@dataclass(frozen=True)
class Fees:
    amount: Decimal
    platform_fee: Decimal
    seller_payout: Decimal
    fee_percent: Decimal
    currency: str


def fee_percent_for(feed_type: str) -> Decimal:
    if feed_type == FeedType.COMMUNITY:
        return Decimal(settings.PLATFORM_FEE_PERCENT_COMMUNITY)
    return Decimal(settings.PLATFORM_FEE_PERCENT_DISCOVER)


def compute_fees(*, amount: Decimal, feed_type: str, percent: Decimal | None = None) -> Fees:
    """fee = amount * rate, rounded half-up to the fils; payout is the rest, so fee + payout == amount.
    ``percent`` overrides the feed's rate (a lot sold in a live show: PLATFORM_FEE_PERCENT_LIVE)."""
    amount = quantize_aed(amount)
    percent = fee_percent_for(feed_type) if percent is None else Decimal(percent)
    platform_fee = quantize_aed(amount * percent / Decimal(100))
    return Fees(
        amount=amount,
        platform_fee=platform_fee,
        seller_payout=amount - platform_fee,
        fee_percent=percent,
        currency=settings.CURRENCY,
    )
