from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import FeedType, Product
from messaging.models import Offer
from soukloop.models import BaseModel


class TransactionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


class PayoutStatus(models.TextChoices):
    HELD = "held", _("Held")
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled")


class Transaction(BaseModel):
    """One purchase: the buyer pays the platform, the seller's share is held, then transferred."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="transactions")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="AED")
    platform_fee = models.DecimalField(max_digits=12, decimal_places=2)
    seller_payout = models.DecimalField(max_digits=12, decimal_places=2)
    feed_type = models.CharField(max_length=10, choices=FeedType.choices)
    status = models.CharField(
        max_length=10, choices=TransactionStatus.choices, default=TransactionStatus.PENDING, db_index=True
    )
    payout_status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.HELD, db_index=True
    )
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    payment_method = models.CharField(max_length=50, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="payments_tx_buyer_idx"),
            models.Index(fields=["seller", "-created_at"], name="payments_tx_seller_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_tx_amount_positive"),
            models.CheckConstraint(condition=Q(platform_fee__gte=0), name="payments_tx_fee_non_negative"),
            models.CheckConstraint(condition=Q(seller_payout__gte=0), name="payments_tx_payout_non_negative"),
            models.CheckConstraint(
                condition=Q(amount=F("platform_fee") + F("seller_payout")), name="payments_tx_fee_plus_payout_is_amount"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="payments_tx_buyer_not_seller"),
            models.CheckConstraint(condition=Q(status__in=TransactionStatus.values), name="payments_tx_status_valid"),
            models.CheckConstraint(
                condition=Q(payout_status__in=PayoutStatus.values), name="payments_tx_payout_status_valid"
            ),
            # One product is never sold twice, and a pending checkout holds the item.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=["pending", "completed"]),
                name="payments_tx_one_open_per_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.product_id} ({self.status})"
