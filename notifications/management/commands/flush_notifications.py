"""Send what waits in the notification outbox (the broker was down, a worker died, a back-off
or quiet hours are over). Beat runs the same every 30 s; safe to run any time."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications.services import delivery_attempt, outbox_due


class Command(BaseCommand):
    help = "Send pending notification deliveries that are due (the outbox). Idempotent."

    def handle(self, *args, **options) -> None:
        outcomes: dict[str, int] = {}
        for delivery_id in outbox_due():
            outcome = delivery_attempt(delivery_id=delivery_id).outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(summary)
