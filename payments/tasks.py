"""Periodic ops on Celery beat (CELERY_BEAT_SCHEDULE): each runs its idempotent manage.py command."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task(name="payments.tasks.release_checkouts")
def release_checkouts() -> None:
    call_command("release_checkouts")


@shared_task(name="payments.tasks.release_payouts")
def release_payouts() -> None:
    call_command("release_payouts")
