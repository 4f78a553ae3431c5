"""Expire pending/countered offers past ``expires_at``. Safe to run every minute: a second run
finds nothing left to do. (Accepted offers left unpaid lapse in payments' ``release_checkouts``,
which knows whether a checkout pays for them.)"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from messaging.models import OPEN_OFFER_STATUSES, Offer
from messaging.services import offers_expire_due


class Command(BaseCommand):
    help = "Expire open offers past their expires_at (posts a system message to both sides). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="offers per transaction (default 500)")

    def handle(self, *args, batch_size: int, **options) -> None:
        expired = offers_expire_due(batch_size=batch_size)
        still_open = Offer.objects.filter(status__in=OPEN_OFFER_STATUSES).count()
        self.stdout.write(f"expired {expired} offer(s); {still_open} open offer(s) remain")
