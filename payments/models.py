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


class FailureReason(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", _("The payment was declined")
    CHECKOUT_EXPIRED = "checkout_expired", _("The checkout was abandoned")
    PAYMENT_PROVIDER_ERROR = "provider_error", _("The payment provider could not be reached")


class PayoutBlock(models.TextChoices):
    """Why a held payout has not been released yet (empty: nothing blocks it)."""

    NONE = "", _("Nothing")
    SELLER_NOT_ONBOARDED = "seller_not_onboarded", _("The seller has not finished Stripe onboarding")
    DISPUTED = "disputed", _("The buyer disputed the payment")


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
    failure_reason = models.CharField(max_length=20, choices=FailureReason.choices, blank=True)
    receipt_confirmed_at = models.DateTimeField(null=True, blank=True)
    payout_blocked_reason = models.CharField(max_length=25, choices=PayoutBlock.choices, blank=True)
    payout_released_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stripe_dispute_id = models.CharField(max_length=255, blank=True)

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


class ConnectAccount(BaseModel):
    """The payments-side record of a seller's Stripe Connect (Express) account.

    Kept current from ``account.updated``; ``last_event_at`` drops events older than the
    state already applied (Stripe does not deliver in order).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connect_account")
    stripe_account_id = models.CharField(max_length=255, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=100, blank=True)
    requirements_due = models.JSONField(default=list, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def can_receive_payouts(self) -> bool:
        return self.payouts_enabled


class StripeEvent(models.Model):
    """Each webhook event applied, written in the same DB transaction as its effects."""

    event_id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
