"""Buyer claims on a completed sale while its payout is held, and two-way reviews."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments.models import Transaction
from soukloop.models import BaseModel


class ClaimReason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Not received")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    COUNTERFEIT = "counterfeit", _("Counterfeit")
    DAMAGED = "damaged", _("Damaged")
    OTHER = "other", _("Other")


class ClaimStatus(models.TextChoices):
    OPEN = "open", _("Open: waiting for the seller")
    SELLER_RESPONDED = "seller_responded", _("The seller responded")
    ESCALATED = "escalated", _("Escalated to moderators")
    DECIDED = "decided", _("Decided by a moderator")
    RESOLVED = "resolved", _("Resolved: refund agreed")
    WITHDRAWN = "withdrawn", _("Withdrawn by the buyer")


# A claim in one of these holds the payout and blocks a second claim on the transaction.
CLAIM_ACTIVE = (ClaimStatus.OPEN, ClaimStatus.SELLER_RESPONDED, ClaimStatus.ESCALATED)


class SellerAction(models.TextChoices):
    ACCEPT_REFUND = "accept_refund", _("Accepted a full refund")
    PROPOSE_PARTIAL = "propose_partial", _("Proposed a partial refund")
    CONTEST = "contest", _("Contested")


class ClaimDecision(models.TextChoices):
    FULL_REFUND = "full_refund", _("Full refund to the buyer")
    PARTIAL_REFUND = "partial_refund", _("Partial refund to the buyer")
    RELEASE = "release", _("Payout released to the seller")


class Claim(BaseModel):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="claims")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims_made")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims_received")
    reason = models.CharField(max_length=20, choices=ClaimReason.choices)
    description = models.TextField(max_length=2000)
    image_urls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.OPEN, db_index=True)
    # When the claim goes to moderators unless something happens first (seller silence,
    # a contest, a partial proposal not accepted); null once escalated or closed.
    escalates_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The seller's answer.
    seller_action = models.CharField(max_length=20, choices=SellerAction.choices, blank=True)
    seller_response = models.TextField(max_length=2000, blank=True)
    seller_image_urls = models.JSONField(default=list, blank=True)
    proposed_refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The outcome: agreed between the parties (resolved), or a moderator's decision (audited).
    decision = models.CharField(max_length=20, choices=ClaimDecision.choices, blank=True)
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    decision_reason = models.TextField(max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="claims_decided"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="trust_claim_buyer_idx"),
            models.Index(fields=["seller", "-created_at"], name="trust_claim_seller_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ClaimStatus.values), name="trust_claim_status_valid"),
            models.CheckConstraint(condition=Q(reason__in=ClaimReason.values), name="trust_claim_reason_valid"),
            # One claim at a time per sale (a second open one is a 409).
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(status__in=["open", "seller_responded", "escalated"]),
                name="trust_claim_one_active_per_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.reason} on {self.transaction_id} ({self.status})"


class ReviewRole(models.TextChoices):
    """The role of the person reviewed in the sale."""

    AS_BUYER = "as_buyer", _("As buyer")
    AS_SELLER = "as_seller", _("As seller")


class Review(BaseModel):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_written")
    reviewee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_received")
    role = models.CharField(max_length=10, choices=ReviewRole.choices)
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(max_length=1000, blank=True)
    # Whether it moves the reviewee's rating (docs/trust.md, "No review farming").
    counts = models.BooleanField(default=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reply = models.TextField(max_length=1000, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews_hidden"
    )
    hidden_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["reviewee", "-published_at"], name="trust_review_reviewee_idx")]
        constraints = [
            models.UniqueConstraint(fields=["transaction", "reviewer"], name="trust_review_once_per_side"),
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="trust_review_rating_1_5"),
            models.CheckConstraint(condition=~Q(reviewer=models.F("reviewee")), name="trust_review_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.reviewee_id}"


class EscalatedClaim(Claim):
    """The moderators' queue in the admin (escalated claims, oldest first)."""

    class Meta:
        proxy = True
        verbose_name = _("escalated claim (moderators' queue)")
        verbose_name_plural = _("escalated claims (moderators' queue)")
