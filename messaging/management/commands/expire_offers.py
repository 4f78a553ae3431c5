"""Expire pending/countered offers past ``expires_at``, and accepted offers left unpaid past
``ACCEPTED_OFFER_HOLD_HOURS``. Safe to run every minute: a second
run finds nothing left to do."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from messaging.models import OPEN_OFFER_STATUSES, Offer
from messaging.services import offers_expire_due, offers_lapse_unpaid_accepted


class Command(BaseCommand):
    help = "Expire open offers past their expires_at (posts a system message to both sides). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="offers per transaction (default 500)")

    def handle(self, *args, batch_size: int, **options) -> None:
        expired = offers_expire_due(batch_size=batch_size)
        lapsed = offers_lapse_unpaid_accepted()
        still_open = Offer.objects.filter(status__in=OPEN_OFFER_STATUSES).count()
        self.stdout.write(
            f"expired {expired} offer(s); {lapsed} unpaid accepted offer(s) lapsed; {still_open} open offer(s) remain"
        )
