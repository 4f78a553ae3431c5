"""Reads: a person's submissions, and the moderators' queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from accounts.models import User
from verification.models import SubmissionStatus, Verification


def verifications_of_user(*, user: User) -> QuerySet[Verification]:
    """Newest first: the history of one person's submissions."""
    return Verification.objects.filter(user=user).order_by("-submitted_at", "-id")


def verification_latest_for_user(*, user: User) -> Verification | None:
    return verifications_of_user(user=user).first()


@dataclass(frozen=True)
class QueueStats:
    pending: int
    oldest_submitted_at: datetime | None
    per_type: dict[str, int]
    now: datetime

    @property
    def oldest_wait(self) -> timedelta | None:
        return self.now - self.oldest_submitted_at if self.oldest_submitted_at else None


def verification_queue_stats(*, now: datetime | None = None) -> QueueStats:
    pending = Verification.objects.filter(status=SubmissionStatus.PENDING)
    per_type = dict(
        pending.order_by()
        .values_list("verification_type")
        .annotate(n=Count("id"))
        .values_list("verification_type", "n")
    )
    oldest = pending.aggregate(oldest=Min("submitted_at"))["oldest"]
    return QueueStats(
        pending=sum(per_type.values()), oldest_submitted_at=oldest, per_type=per_type, now=now or timezone.now()
    )


def queue_oldest_pending_seconds(*, now: datetime | None = None) -> float:
    """How long the oldest submission has waited for a moderator (0 with an empty queue)."""
    oldest = Verification.objects.filter(status=SubmissionStatus.PENDING).aggregate(at=Min("submitted_at"))["at"]
    return 0.0 if oldest is None else ((now or timezone.now()) - oldest).total_seconds()
