"""The close on time: a task per lot at its ``ends_at`` plus the beat's sweep (both idempotent;
the database under the row lock decides)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.management import call_command

from soukloop.celery import app as celery_app


@shared_task(name="auctions.tasks.close_auctions")
def close_auctions() -> None:
    call_command("close_auctions")


@shared_task(name="auctions.tasks.close_lot")
def close_lot(auction_id: Any) -> None:
    """Close the lot if its time is up; if a late bid extended it, run again at the new end."""
    from auctions import services
    from auctions.models import AuctionStatus

    lot = services.close_lot(auction_id=auction_id)
    if (
        lot is not None
        and lot.status == AuctionStatus.RUNNING
        and lot.ends_at is not None
        and not celery_app.conf.task_always_eager  # eager: it would run again at once, forever
    ):
        close_lot.apply_async(args=[str(lot.pk)], eta=lot.ends_at)
