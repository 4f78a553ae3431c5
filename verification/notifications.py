"""Telling a person the outcome of their verification: email and SMS, English then Arabic.

Called after commit (``transaction.on_commit(..., robust=True)``), so a failing provider
never undoes a decision. Messages carry no ID number or document detail.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.sms import send_sms
from verification.models import RejectionReason, SubmissionStatus, Verification

logger = logging.getLogger(__name__)
NOTIFY_LANGUAGES = ("en", "ar")


def _reason(verification: Verification) -> str:
    if verification.rejection_code in RejectionReason.values:
        return str(RejectionReason(verification.rejection_code).label)
    return verification.rejection_reason


def _texts(verification: Verification) -> tuple[str, str]:
    """(subject, body) in the active language."""
    if verification.status == SubmissionStatus.APPROVED:
        return (
            _("Your Souk Loop verification is approved"),
            _("Good news: your identity is verified. You can now sell and go live on Souk Loop."),
        )
    return (
        _("Your Souk Loop verification was not approved"),
        _("We could not approve your verification. Reason: %(reason)s You can submit again in the app.")
        % {"reason": _reason(verification)},
    )


def decision_messages(verification: Verification) -> tuple[str, str]:
    """Subject and body in every notification language, English first."""
    subjects, bodies = [], []
    for language in NOTIFY_LANGUAGES:
        with translation.override(language):
            subject, body = _texts(verification)
        subjects.append(subject)
        bodies.append(body)
    return " / ".join(subjects), "\n\n".join(bodies)


def notify_decision(*, verification_id: UUID) -> None:
    verification = Verification.objects.select_related("user").get(pk=verification_id)
    user = verification.user
    subject, body = decision_messages(verification)
    if user.email:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    if user.phone:
        send_sms(to=user.phone, body=body)
    logger.info("verification decision notified id=%s status=%s", verification.pk, verification.status)
