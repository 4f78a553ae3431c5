"""Money is Decimal with 2 places (AED) in the database, integer fils at Stripe's boundary."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")


def quantize_aed(amount: Decimal | int | str) -> Decimal:
    """Round half-up to the fils."""
    return Decimal(amount).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def to_fils(amount: Decimal | str) -> int:
    """AED → integer fils (1 AED = 100 fils) for Stripe."""
    return int((quantize_aed(amount) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fils(fils: int) -> Decimal:
    return quantize_aed(Decimal(fils) / 100)
