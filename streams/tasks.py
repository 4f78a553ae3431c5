"""Periodic ops on Celery beat (CELERY_BEAT_SCHEDULE): each runs its idempotent manage.py command."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task(name="streams.tasks.end_stale_streams")
def end_stale_streams() -> None:
    call_command("end_stale_streams")


@shared_task(name="streams.tasks.sync_stream_viewers")
def sync_stream_viewers() -> None:
    call_command("sync_stream_viewers")
