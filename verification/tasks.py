"""Verification's background work."""

from __future__ import annotations

from celery import shared_task

from accounts.sms import SMSError


@shared_task(
    name="verification.tasks.notify_decision",
    autoretry_for=(SMSError, OSError),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=5,
)
def notify_decision(verification_id: str) -> None:
    from verification.notifications import notify_decision as send

    send(verification_id=verification_id)
