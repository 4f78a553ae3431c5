"""Reads for claims and reviews."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from trust.models import Claim, Review


def claims_of(*, user: User) -> QuerySet[Claim]:
    """Claims where ``user`` is the buyer or the seller, newest first."""
    return Claim.objects.filter(Q(buyer=user) | Q(seller=user)).order_by("-created_at", "-id")


def claim_get(*, user: User, claim_id: Any) -> Claim | None:
    return claims_of(user=user).filter(pk=claim_id).first()


def reviews_received(*, user: User) -> QuerySet[Review]:
    """Published, visible reviews of ``user``, newest first, with reviewer and item joined."""
    return (
        Review.objects.filter(reviewee=user, published_at__isnull=False, hidden_at__isnull=True)
        .select_related("reviewer", "transaction__product")
        .order_by("-published_at", "-created_at", "-id")
    )


def review_report_target(*, reporter: User, pk: Any) -> tuple[bool, Any]:
    """For messaging's reports: a published review is reportable by anyone signed in; the
    reviewer answers for it."""
    row = (
        Review.objects.filter(pk=pk, published_at__isnull=False, hidden_at__isnull=True)
        .values_list("reviewer_id", flat=True)
        .first()
    )
    return row is not None, row
