"""Periodic ops on Celery beat (CELERY_BEAT_SCHEDULE): each runs its idempotent manage.py command."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task(name="messaging.tasks.expire_offers")
def expire_offers() -> None:
    call_command("expire_offers")
