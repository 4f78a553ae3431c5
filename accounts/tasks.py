"""Accounts' background work: SMS and email leave the request (soukloop.background)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail as django_send_mail

from accounts.sms import SMSError
from accounts.sms import send_sms as sms_send_now


@shared_task(
    name="accounts.tasks.send_sms",
    autoretry_for=(SMSError, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=3,
)
def send_sms(to: str, body: str) -> None:
    """One SMS (one-time codes, decisions). Retried a few times: a code is worth little late."""
    sms_send_now(to=to, body=body)


@shared_task(
    name="accounts.tasks.send_email",
    autoretry_for=(OSError,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=5,
)
def send_email(subject: str, body: str, to: list[str]) -> None:
    django_send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)


@shared_task(name="accounts.tasks.password_reset_send")
def password_reset_send(email: str, language: str | None) -> None:
    """Look the account up and mail the link: off the request, so the answer's timing says
    nothing about whether the account exists."""
    from accounts.services import password_reset_send as send

    send(email, language)
