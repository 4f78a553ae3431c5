"""Telling a person the outcome of their verification: email and SMS, English then Arabic.

Run by a worker after commit (``verification.tasks.notify_decision``), so a failing provider
never undoes a decision and never slows the moderator's request. Messages carry no ID number or document detail.
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


def _sms_text(verification: Verification) -> str:
    """The decision as one short SMS in the active language (GSM-7 English fits one 160-char
    message; Arabic is UCS-2, 70 a message, so the wording is as short as it can be)."""
    if verification.status == SubmissionStatus.APPROVED:
        return _("Souk Loop: you are verified. You can now sell and go live.")
    return _("Souk Loop: verification not approved. Reason: %(reason)s Resubmit in the app.") % {
        "reason": _reason(verification)
    }


def decision_sms(verification: Verification) -> list[str]:
    """One SMS per notification language (a combined bilingual text took ~330 characters,
    several messages on every phone)."""
    texts = []
    for language in NOTIFY_LANGUAGES:
        with translation.override(language):
            texts.append(_sms_text(verification))
    return texts


def notify_decision(*, verification_id: UUID | str) -> None:
    """Email and SMS the outcome (``verification.tasks.notify_decision`` runs it on a worker; the
    inbox row and the push come from the ``verification.decided`` event)."""
    verification = Verification.objects.select_related("user").get(pk=verification_id)
    user = verification.user
    subject, body = decision_messages(verification)
    if user.email:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    if user.phone:
        for text in decision_sms(verification):
            send_sms(to=user.phone, body=text)
    logger.info("verification decision notified id=%s status=%s", verification.pk, verification.status)
