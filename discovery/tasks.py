"""Discovery's periodic work: the saved-search percolator (Celery beat, every minute)."""

from __future__ import annotations

from celery import shared_task

from discovery import services


@shared_task(name="discovery.tasks.percolate_saved_searches")
def percolate_saved_searches() -> int:
    """Match the listings created since the last run against the saved searches; returns how
    many alerts went out."""
    return services.percolate().alerts
