"""Writes: submitting a verification, deciding it, and the audit trail of both."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User, VerificationStatus
from accounts.services import user_set_verification_status
from soukloop import events
from soukloop.background import run_after_commit
from soukloop.errors import Conflict, ValidationError
from verification import crypto
from verification.emirates_id import last4
from verification.models import (
    AuditAction,
    RejectionReason,
    SubmissionStatus,
    Verification,
    VerificationAuditLog,
    VerificationType,
)
from verification.tasks import notify_decision

logger = logging.getLogger(__name__)
_PENDING = _("Your verification is already under review; you can resubmit only if it is rejected.")
_ID_IN_USE = _("This Emirates ID is already linked to another account. Contact support if this is a mistake.")


@dataclass(frozen=True)
class Document:
    file: UploadedFile
    content_type: str


def audit_log(
    *, verification: Verification, actor: User | None, action: str, detail: str = "", ip: str | None = None
) -> VerificationAuditLog:
    return VerificationAuditLog.objects.create(
        verification=verification,
        verification_ref=verification.pk,
        subject_user_ref=verification.user_id,
        actor=actor,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        detail=detail[:255],
        ip=ip,
    )


@transaction.atomic
def verification_submit(
    *,
    user: User,
    verification_type: str,
    emirates_id_number: str = "",
    emirates_id_front: Document | None = None,
    emirates_id_back: Document | None = None,
    trade_license_number: str = "",
    issuing_authority: str = "",
    trade_license_expiry: date | None = None,
    trade_license_document: Document | None = None,
    ip: str | None = None,
) -> Verification:
    """Open a new pending submission. Inputs are already validated (format, files); this
    enforces the rules that depend on state: one open or approved submission per person,
    one Emirates ID per account. Earlier rejected submissions stay as history."""
    # The user row is the lock that serialises two submissions from the same person.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    active = Verification.objects.filter(
        user=user, status__in=[SubmissionStatus.PENDING, SubmissionStatus.APPROVED]
    ).first()
    if active is not None and active.status == SubmissionStatus.PENDING:
        raise Conflict(_PENDING, code="verification_pending")
    if active is not None:
        raise Conflict(_("You are already verified."), code="already_verified")

    verification = Verification(user=user, verification_type=verification_type)
    if verification_type in (VerificationType.EMIRATES_ID, VerificationType.BOTH):
        id_digest = crypto.digest(emirates_id_number)
        in_use = (
            Verification.objects.filter(
                emirates_id_digest=id_digest, status__in=[SubmissionStatus.PENDING, SubmissionStatus.APPROVED]
            )
            .exclude(user=user)
            .exists()
        )
        verification.emirates_id_number = crypto.encrypt(emirates_id_number)
        verification.emirates_id_last4 = last4(emirates_id_number)
        if in_use:
            # Same answer as any submission (a 409 told anyone whether an ID number is on the
            # platform); the digest stays off this row so the one-active-per-ID index holds, and
            # a moderator sees the flag and rejects with the id_in_use reason.
            verification.id_on_another_account = True
            logger.warning("verification submitted with an Emirates ID active on another account")
        else:
            verification.emirates_id_digest = id_digest
    if verification_type in (VerificationType.TRADE_LICENSE, VerificationType.BOTH):
        verification.trade_license_number = trade_license_number
        verification.issuing_authority = issuing_authority
        verification.trade_license_expiry = trade_license_expiry

    documents = {
        "emirates_id_front": emirates_id_front,
        "emirates_id_back": emirates_id_back,
        "trade_license_document": trade_license_document,
    }
    saved: list[Any] = []
    try:
        for field, document in documents.items():
            if document is None:
                continue
            field_file = getattr(verification, field)
            document.file.seek(0)
            field_file.save("document", document.file, save=False)
            saved.append(field_file)
            verification.document_types[field] = document.content_type
        try:
            with transaction.atomic():
                verification.save()
        except IntegrityError as exc:
            # Two requests at the same moment; the partial unique indexes decide which one lost.
            if "emirates_id" not in str(exc):
                raise Conflict(_PENDING, code="verification_pending") from exc
            # Another account sent the same number at this instant: flagged, same answer.
            verification.emirates_id_digest = ""
            verification.id_on_another_account = True
            with transaction.atomic():
                verification.save()
        user_set_verification_status(user_id=user.pk, status=VerificationStatus.PENDING)
        audit_log(verification=verification, actor=user, action=AuditAction.SUBMITTED, ip=ip)
    except BaseException:
        for field_file in saved:
            field_file.storage.delete(field_file.name)
        raise
    user.verification_status = VerificationStatus.PENDING
    logger.info("verification submitted id=%s type=%s", verification.pk, verification_type)
    return verification


def _decide(
    *, verification: Verification, by: User, status: str, reason: str = "", code: str = "", ip: str | None
) -> Verification:
    locked = Verification.objects.select_for_update(of=("self",)).select_related("reviewed_by").get(pk=verification.pk)
    if status == SubmissionStatus.APPROVED and locked.id_on_another_account:
        raise Conflict(
            _("This Emirates ID is active on another account: reject it with the 'ID in use' reason."),
            code="emirates_id_in_use",
        )
    if locked.status != SubmissionStatus.PENDING:
        reviewer = locked.reviewed_by.username if locked.reviewed_by else _("another moderator")
        decided_at = timezone.localtime(locked.reviewed_at).strftime("%Y-%m-%d %H:%M") if locked.reviewed_at else "-"
        raise Conflict(
            _("Already %(status)s by %(reviewer)s at %(at)s: that decision stands.")
            % {"status": locked.get_status_display().lower(), "reviewer": reviewer, "at": decided_at},
            code="verification_already_decided",
        )
    locked.status = status
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.rejection_reason = reason
    locked.rejection_code = code
    locked.save(
        update_fields=["status", "reviewed_by", "reviewed_at", "rejection_reason", "rejection_code", "updated_at"]
    )
    user_set_verification_status(user_id=locked.user_id, status=status)
    action = AuditAction.APPROVED if status == SubmissionStatus.APPROVED else AuditAction.REJECTED
    audit_log(verification=locked, actor=by, action=action, detail=code or reason, ip=ip)
    run_after_commit(notify_decision, str(locked.pk))
    events.publish(
        "verification.decided",
        channel=f"user:{locked.user_id}",
        data={"user_id": str(locked.user_id), "verification_id": str(locked.pk), "status": status},
    )
    logger.info("verification %s id=%s by=%s", status, locked.pk, by.pk)
    return locked


@transaction.atomic
def verification_approve(*, verification: Verification, by: User, ip: str | None = None) -> Verification:
    """Approve a pending submission; the person becomes verified. Two moderators at once:
    the row lock lets one decide, the other gets ``verification_already_decided``."""
    return _decide(verification=verification, by=by, status=SubmissionStatus.APPROVED, ip=ip)


@transaction.atomic
def verification_reject(
    *, verification: Verification, by: User, reason: str = "", code: str = "", ip: str | None = None
) -> Verification:
    """Reject a pending submission with a reason (a common one by ``code`` or typed text)."""
    reason = (reason or "").strip()
    if code and code not in RejectionReason.values:
        raise ValidationError(_("Choose a reason from the list."), code="invalid_choice", attr="code")
    if not reason and code:
        reason = str(RejectionReason(code).label)
    if not reason:
        raise ValidationError(_("A reason is required to reject a submission."), code="reason_required", attr="reason")
    return _decide(verification=verification, by=by, status=SubmissionStatus.REJECTED, reason=reason, code=code, ip=ip)


@transaction.atomic
def verification_log_access(
    *, verification: Verification, by: User, action: str, detail: str = "", ip: str | None = None
) -> None:
    audit_log(verification=verification, actor=by, action=action, detail=detail, ip=ip)


@transaction.atomic
def verification_rotate_keys(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored Emirates ID number under the newest key; returns how many."""
    rotated = 0
    rows = Verification.objects.exclude(emirates_id_number="").only("pk", "emirates_id_number")
    for verification in rows.select_for_update().iterator(chunk_size=batch_size):
        token = crypto.rotate(verification.emirates_id_number)
        Verification.objects.filter(pk=verification.pk).update(emirates_id_number=token)
        rotated += 1
    return rotated
