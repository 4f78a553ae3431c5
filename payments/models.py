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
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    DISPUTED = "disputed", _("Disputed")
    DISPUTED_LOST = "disputed_lost", _("Dispute lost")


class PayoutStatus(models.TextChoices):
    HELD = "held", _("Held")
    REDUCED = "reduced", _("Held, reduced by a partial refund")
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REVERSED = "partially_reversed", _("Partially reversed")
    REVERSED = "reversed", _("Reversed")


# A payout in one of these has not been transferred yet.
PAYOUT_NOT_YET_SENT = (PayoutStatus.HELD, PayoutStatus.REDUCED)
# The buyer's money is (at least partly) still with the platform and the sale stands.
SALE_STANDS = ("completed", "partially_refunded", "disputed")


class FailureReason(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", _("The payment was declined")
    CHECKOUT_EXPIRED = "checkout_expired", _("The checkout was abandoned")
    PAYMENT_PROVIDER_ERROR = "provider_error", _("The payment provider could not be reached")
    # Staff voided the auction lot the sale came from (e.g. shill bidding): nothing is owed and
    # it is no strike against the winner.
    LOT_VOIDED = "lot_voided", _("The auction lot was voided")


class SaleSource(models.TextChoices):
    """What the sale came from: the listing's price or an accepted offer (``listing``), or a won
    auction lot (``auction``, ``source_id`` the lot's id; reserved at the hammer, paid by
    ``pay_by``)."""

    LISTING = "listing", _("Listing or offer")
    AUCTION = "auction", _("Auction lot")


class PayoutBlock(models.TextChoices):
    """Why a held payout has not been released yet (empty: nothing blocks it)."""

    NONE = "", _("Nothing")
    SELLER_NOT_ONBOARDED = "seller_not_onboarded", _("The seller has not finished Stripe onboarding")
    DISPUTED = "disputed", _("The buyer disputed the payment")
    SELLER_DEBT = "seller_debt", _("The seller owes the platform from an earlier reversal")
    NO_TRANSFER_CAPABILITY = "no_transfers", _("The seller's Stripe account cannot receive transfers")
    CLAIM_OPEN = "claim_open", _("The buyer opened a claim that is not settled yet")


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
        max_length=20, choices=TransactionStatus.choices, default=TransactionStatus.PENDING, db_index=True
    )
    payout_status = models.CharField(
        max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.HELD, db_index=True
    )
    # The ledger of this payment, in AED (docs/payments.md): refunded to the buyer, transferred
    # to the seller, taken back from the seller by transfer reversals, and lost to a dispute.
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    amount_transferred = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    amount_reversed = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    amount_disputed_lost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Why the last card attempt was declined (Stripe's code), for the app to show; the
    # checkout stays pending so the buyer can try another card until the hold ends.
    last_payment_error = models.CharField(max_length=100, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    payment_method = models.CharField(max_length=50, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=20, choices=FailureReason.choices, blank=True)
    # Our counter of Stripe write attempts for this row: each attempt has its own idempotency
    # key, so a stored (failed) answer is never replayed to a later, deliberate retry.
    stripe_attempts = models.PositiveIntegerField(default=0)
    receipt_confirmed_at = models.DateTimeField(null=True, blank=True)
    payout_blocked_reason = models.CharField(max_length=25, choices=PayoutBlock.choices, blank=True)
    payout_released_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while a buyer's claim (the ``trust`` app) is open: the payout is not released,
    # whatever the hold timer or a receipt confirmation says. Payments never asks why; the
    # app above sets and clears it through ``payout_hold_for_claim`` / ``payout_unhold``.
    held_for_claim = models.BooleanField(default=False, db_index=True)
    stripe_dispute_id = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=10, choices=SaleSource.choices, default=SaleSource.LISTING)
    # The id of the row the sale came from in the app that made it (the auction lot): no
    # foreign key, payments sits below auctions.
    source_id = models.UUIDField(null=True, blank=True)
    # Until when a reserved sale waits for its payment (a won lot: AUCTION_PAY_MINUTES after
    # the hammer); null: the checkout hold (CHECKOUT_HOLD_MINUTES from created_at).
    pay_by = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="payments_tx_buyer_idx"),
            models.Index(fields=["seller", "-created_at"], name="payments_tx_seller_idx"),
            models.Index(fields=["source_id"], condition=Q(source_id__isnull=False), name="payments_tx_source_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_tx_amount_positive"),
            models.CheckConstraint(condition=Q(platform_fee__gte=0), name="payments_tx_fee_non_negative"),
            models.CheckConstraint(condition=Q(seller_payout__gte=0), name="payments_tx_payout_non_negative"),
            models.CheckConstraint(
                condition=Q(amount=F("platform_fee") + F("seller_payout")), name="payments_tx_fee_plus_payout_is_amount"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="payments_tx_buyer_not_seller"),
            models.CheckConstraint(condition=Q(source__in=SaleSource.values), name="payments_tx_source_valid"),
            # A lot is paid for once: one sale that is not failed per source row.
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=Q(source_id__isnull=False) & ~Q(status="failed"),
                name="payments_tx_one_live_sale_per_source",
            ),
            models.CheckConstraint(condition=Q(status__in=TransactionStatus.values), name="payments_tx_status_valid"),
            models.CheckConstraint(
                condition=Q(payout_status__in=PayoutStatus.values), name="payments_tx_payout_status_valid"
            ),
            # One product is never sold twice, and a pending checkout holds the item.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=["pending", "completed", "partially_refunded", "disputed"]),
                name="payments_tx_one_open_per_product",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payments_tx_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_reversed__gte=0) & Q(amount_reversed__lte=F("amount_transferred")),
                name="payments_tx_reversal_within_transfer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.product_id} ({self.status})"


class SellerDebt(BaseModel):
    """Money a seller owes the platform: a transfer reversal (after a refund or a lost dispute)
    that Stripe refused because the seller's balance was short. While any is unsettled, the
    seller's payouts wait (``PayoutBlock.SELLER_DEBT``)."""

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_debts")
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="debts")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=200)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payments_debt_positive")]

    def __str__(self) -> str:
        return f"{self.amount} owed by {self.seller_id}"


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
    # Stripe's ``capabilities.transfers``: only ``active`` accounts can receive transfers.
    transfers_capability = models.CharField(max_length=20, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    requirements_due = models.JSONField(default=list, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def can_receive_payouts(self) -> bool:
        return self.payouts_enabled and self.transfers_active

    @property
    def transfers_active(self) -> bool:
        return self.transfers_capability == "active"


class StripeEvent(models.Model):
    """Each webhook event applied, written in the same DB transaction as its effects."""

    event_id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    # False for events recorded but not acted on (unknown transaction, mismatch, unhandled
    # type): a redelivery after a fix applies them instead of being skipped as a duplicate.
    applied = models.BooleanField(default=True, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
