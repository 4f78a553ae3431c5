from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
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


class Emirate(models.TextChoices):
    DUBAI = "dubai", _("Dubai")
    ABU_DHABI = "abu_dhabi", _("Abu Dhabi")
    SHARJAH = "sharjah", _("Sharjah")
    AJMAN = "ajman", _("Ajman")
    RAS_AL_KHAIMAH = "ras_al_khaimah", _("Ras Al Khaimah")
    FUJAIRAH = "fujairah", _("Fujairah")
    UMM_AL_QUWAIN = "umm_al_quwain", _("Umm Al Quwain")


class IssuingAuthority(models.TextChoices):
    """Who issued a trade licence: the emirate's economic department or a free zone."""

    DUBAI_DET = "dubai_det", _("Dubai Department of Economy and Tourism (DET)")
    DMCC = "dmcc", _("Dubai Multi Commodities Centre (DMCC)")
    JAFZA = "jafza", _("Jebel Ali Free Zone (JAFZA)")
    DIFC = "difc", _("Dubai International Financial Centre (DIFC)")
    DSO = "dso", _("Dubai Silicon Oasis (DSO)")
    DUBAI_SOUTH = "dubai_south", _("Dubai South")
    DAFZ = "dafz", _("Dubai Airport Freezone (DAFZ)")
    DDA = "dda", _("Dubai Development Authority (DDA)")
    IFZA = "ifza", _("International Free Zone Authority (IFZA)")
    MEYDAN = "meydan", _("Meydan Free Zone")
    ABU_DHABI_ADDED = "abu_dhabi_added", _("Abu Dhabi Department of Economic Development (ADDED)")
    ADGM = "adgm", _("Abu Dhabi Global Market (ADGM)")
    KEZAD = "kezad", _("Khalifa Economic Zones Abu Dhabi (KEZAD)")
    TWOFOUR54 = "twofour54", _("twofour54 Abu Dhabi")
    SHARJAH_SEDD = "sharjah_sedd", _("Sharjah Economic Development Department (SEDD)")
    SHAMS = "shams", _("Sharjah Media City (Shams)")
    SAIF_ZONE = "saif_zone", _("Sharjah Airport International Free Zone (SAIF Zone)")
    AJMAN_DED = "ajman_ded", _("Ajman Department of Economic Development")
    AJMAN_FREE_ZONE = "ajman_free_zone", _("Ajman Free Zone")
    RAKEZ = "rakez", _("Ras Al Khaimah Economic Zone (RAKEZ)")
    RAK_DED = "rak_ded", _("Ras Al Khaimah Department of Economic Development")
    FUJAIRAH_DED = "fujairah_ded", _("Fujairah Department of Industry and Economy")
    FUJAIRAH_CREATIVE_CITY = "fujairah_creative_city", _("Fujairah Creative City")
    UAQ_DED = "uaq_ded", _("Umm Al Quwain Department of Economic Development")
    UAQ_FTZ = "uaq_ftz", _("Umm Al Quwain Free Trade Zone")
    OTHER = "other", _("Other")


AUTHORITY_EMIRATE: dict[str, str] = {
    IssuingAuthority.DUBAI_DET: Emirate.DUBAI,
    IssuingAuthority.DMCC: Emirate.DUBAI,
    IssuingAuthority.JAFZA: Emirate.DUBAI,
    IssuingAuthority.DIFC: Emirate.DUBAI,
    IssuingAuthority.DSO: Emirate.DUBAI,
    IssuingAuthority.DUBAI_SOUTH: Emirate.DUBAI,
    IssuingAuthority.DAFZ: Emirate.DUBAI,
    IssuingAuthority.DDA: Emirate.DUBAI,
    IssuingAuthority.IFZA: Emirate.DUBAI,
    IssuingAuthority.MEYDAN: Emirate.DUBAI,
    IssuingAuthority.ABU_DHABI_ADDED: Emirate.ABU_DHABI,
    IssuingAuthority.ADGM: Emirate.ABU_DHABI,
    IssuingAuthority.KEZAD: Emirate.ABU_DHABI,
    IssuingAuthority.TWOFOUR54: Emirate.ABU_DHABI,
    IssuingAuthority.SHARJAH_SEDD: Emirate.SHARJAH,
    IssuingAuthority.SHAMS: Emirate.SHARJAH,
    IssuingAuthority.SAIF_ZONE: Emirate.SHARJAH,
    IssuingAuthority.AJMAN_DED: Emirate.AJMAN,
    IssuingAuthority.AJMAN_FREE_ZONE: Emirate.AJMAN,
    IssuingAuthority.RAKEZ: Emirate.RAS_AL_KHAIMAH,
    IssuingAuthority.RAK_DED: Emirate.RAS_AL_KHAIMAH,
    IssuingAuthority.FUJAIRAH_DED: Emirate.FUJAIRAH,
    IssuingAuthority.FUJAIRAH_CREATIVE_CITY: Emirate.FUJAIRAH,
    IssuingAuthority.UAQ_DED: Emirate.UMM_AL_QUWAIN,
    IssuingAuthority.UAQ_FTZ: Emirate.UMM_AL_QUWAIN,
}


class RejectionReason(models.TextChoices):
    """Common reasons a moderator picks from; the API shows them in the reader's language."""

    UNREADABLE = "unreadable", _("The photo is blurred, cropped or unreadable.")
    EXPIRED = "expired", _("The document has expired.")
    SIDE_MISSING = "side_missing", _("A side of the Emirates ID is missing or the same side was sent twice.")
    NUMBER_MISMATCH = "number_mismatch", _("The number entered does not match the document.")
    NAME_MISMATCH = "name_mismatch", _("The name on the document does not match your profile.")
    NOT_ORIGINAL = "not_original", _("The document looks edited or is a copy of a screen.")
    WRONG_DOCUMENT = "wrong_document", _("This is not the document requested.")
    LICENCE_INVALID = "licence_invalid", _("The trade licence could not be confirmed with the issuing authority.")
    ID_IN_USE = "id_in_use", _("This Emirates ID is already linked to another account. Contact support.")


DOCUMENT_FIELDS: tuple[str, ...] = ("emirates_id_front", "emirates_id_back", "trade_license_document")


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
    # Encrypted at rest (Fernet token, verification.crypto); the last digits serve masking.
    emirates_id_number = models.TextField(blank=True)
    emirates_id_last4 = models.CharField(max_length=4, blank=True)
    # Keyed hash of the normalised number: finds the same ID on two accounts without decrypting.
    emirates_id_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # The number is already active on another account. The submitter is told nothing different
    # (no oracle for "is this ID on the platform?"); a moderator sees the flag and cannot approve.
    id_on_another_account = models.BooleanField(
        _("ID number on another account"), default=False, help_text=_("Set at submission; approval is refused.")
    )
    emirates_id_front = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    emirates_id_back = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    trade_license_number = models.CharField(max_length=64, blank=True)
    issuing_authority = models.CharField(max_length=50, blank=True, choices=IssuingAuthority.choices)
    trade_license_expiry = models.DateField(null=True, blank=True)
    trade_license_document = models.FileField(
        upload_to=private_document_path, storage=private_storage, blank=True, max_length=255
    )
    # Content types sniffed at upload, per document field: served back with the right header.
    document_types = models.JSONField(default=dict, blank=True)
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
    rejection_code = models.CharField(max_length=30, blank=True, choices=RejectionReason.choices)

    class Meta:
        ordering = ["submitted_at"]
        permissions = [
            ("review_verification", _("Can approve or reject verification submissions")),
            ("view_verification_document", _("Can view identity documents and full ID numbers")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "approved"]),
                name="verification_one_active_per_user",
            ),
            # One Emirates ID backs at most one open or approved submission, whoever sent it.
            models.UniqueConstraint(
                fields=["emirates_id_digest"],
                condition=Q(status__in=["pending", "approved"]) & ~Q(emirates_id_digest=""),
                name="verification_one_active_per_emirates_id",
            ),
            models.CheckConstraint(
                condition=Q(verification_type__in=VerificationType.values), name="verification_type_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=SubmissionStatus.values), name="verification_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="verification_rejection_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="verification_queue_idx")]

    def __str__(self) -> str:
        return f"{self.get_verification_type_display()} for {self.user_id} ({self.status})"

    @property
    def emirates_id_masked(self) -> str:
        from verification.emirates_id import mask_from_last4

        return mask_from_last4(self.emirates_id_last4)

    @property
    def emirate(self) -> str:
        return AUTHORITY_EMIRATE.get(self.issuing_authority, "")


class AuditAction(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    VIEWED_DETAILS = "viewed_details", _("Viewed details and full ID number")
    VIEWED_DOCUMENT = "viewed_document", _("Viewed a document")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DECISION_REFUSED = "decision_refused", _("Decision refused: already decided")


class VerificationAuditLog(models.Model):
    """Append-only trail of who looked at or decided a submission. Rows are never changed:
    ``save`` refuses updates, ``delete`` refuses, and the admin is read-only. The subject's
    ids are copied so the trail outlives a deleted account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    verification = models.ForeignKey(
        Verification, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_log"
    )
    verification_ref = models.UUIDField(db_index=True)
    subject_user_ref = models.UUIDField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    detail = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        default_permissions = ("view",)
        verbose_name = _("verification audit entry")
        verbose_name_plural = _("verification audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username or '-'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise DjangoValidationError(_("Audit entries cannot be changed."), code="audit_immutable")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DjangoValidationError(_("Audit entries cannot be deleted."), code="audit_immutable")
