from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from payments.models import Transaction
from tests.factories import ProductFactory


def completed_sale(*, buyer: User, seller: User, amount: str = "100.00", **extra) -> Transaction:
    """A completed sale written directly (no Stripe): for rules that never move money."""
    product = ProductFactory(seller=seller, price=Decimal(amount), is_available=False)
    fee = (Decimal(amount) / 10).quantize(Decimal("0.01"))
    fields = {
        "buyer": buyer,
        "seller": seller,
        "product": product,
        "amount": Decimal(amount),
        "platform_fee": fee,
        "seller_payout": Decimal(amount) - fee,
        "feed_type": product.feed_type,
        "status": "completed",
        "completed_at": timezone.now(),
        "stripe_payment_intent_id": f"pi_fake_{product.pk.hex[:8]}",
    }
    fields.update(extra)
    return Transaction.objects.create(**fields)
