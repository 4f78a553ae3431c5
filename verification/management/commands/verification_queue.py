from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verification.models import VerificationType
from verification.selectors import verification_queue_stats


def _hours(span: timedelta | None) -> float:
    return round(span.total_seconds() / 3600, 1) if span else 0.0


class Command(BaseCommand):
    help = (
        "Print the pending verification queue: how many wait, the oldest wait, and per type. "
        "Exits 1 when the oldest wait exceeds --max-wait-hours (for cron alerts). Read-only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-wait-hours", type=float, default=None, help="fail (exit 1) if the oldest pending waits longer"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object instead of text")

    def handle(self, *args, max_wait_hours: float | None = None, as_json: bool = False, **options) -> None:
        if max_wait_hours is not None and max_wait_hours < 0:
            raise CommandError("--max-wait-hours must be zero or more.")
        stats = verification_queue_stats()
        per_type = {kind: stats.per_type.get(kind, 0) for kind in VerificationType.values}
        oldest_hours = _hours(stats.oldest_wait)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "pending": stats.pending,
                        "oldest_wait_hours": oldest_hours,
                        "oldest_submitted_at": stats.oldest_submitted_at.isoformat()
                        if stats.oldest_submitted_at
                        else None,
                        "per_type": per_type,
                    },
                    sort_keys=True,
                )
            )
        else:
            self.stdout.write(f"pending: {stats.pending}")
            self.stdout.write(f"oldest wait: {oldest_hours} h" if stats.pending else "oldest wait: -")
            for kind, count in per_type.items():
                self.stdout.write(f"  {kind}: {count}")
        if max_wait_hours is not None and stats.oldest_wait and stats.oldest_wait > timedelta(hours=max_wait_hours):
            waited = str(stats.oldest_wait).split(".")[0]  # h:mm:ss, exact where the hours round
            raise CommandError(
                f"oldest pending verification has waited {waited} ({oldest_hours} h; limit {max_wait_hours} h)",
                returncode=1,
            )
