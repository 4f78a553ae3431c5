from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from soukloop.models import BaseModel
from soukloop.storage import private_storage


class VerificationType(models.TextChoices):
    EMIRATES_ID = "emirates_id", _("Emirates ID")
    TRADE_LICENSE = "trade_license", _("Trade licence")
    BOTH = "both", _("Emirates ID and trade licence")


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


def private_document_path(instance: Verification, filename: str) -> str:
    # The original filename may carry personal data; keep only a random name.
    return f"verification/{instance.user_id}/{uuid.uuid4().hex}"


class Verification(BaseModel):
    """A KYC submission. Earlier (rejected) submissions are kept as history; at most one
    is open (pending) or approved per user at a time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verifications")
    verification_type = models.CharField(max_length=15, choices=VerificationType.choices)
    status = models.CharField(
        max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING, db_index=True
    )
    # Encrypted at rest (Fernet token); the last digits below serve masking and search.
    emirates_id_number = models.TextField(blank=True)
    emirates_id_last4 = models.CharField(max_length=4, blank=True)
    emirates_id_front = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    emirates_id_back = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    trade_license_number = models.CharField(max_length=64, blank=True)
    issuing_authority = models.CharField(max_length=50, blank=True)
    trade_license_expiry = models.DateField(null=True, blank=True)
    trade_license_document = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications_reviewed",
    )
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "approved"]),
                name="verification_one_active_per_user",
            ),
            models.CheckConstraint(
                condition=Q(verification_type__in=VerificationType.values), name="verification_type_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=SubmissionStatus.values), name="verification_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="verification_rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_verification_type_display()} for {self.user_id} ({self.status})"
