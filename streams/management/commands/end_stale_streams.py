from django.core.management.base import BaseCommand, CommandError, CommandParser

from streams.services import streams_end_stale


class Command(BaseCommand):
    help = "End live streams with no publish or heartbeat for N minutes (idempotent; prints how many)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=5, help="Silence after which a live stream is over (5).")

    def handle(self, *args, minutes: int, **options) -> None:
        if minutes < 1:
            raise CommandError("--minutes must be at least 1.")
        ended = streams_end_stale(minutes=minutes)
        self.stdout.write(f"Ended {ended} stale stream(s).")
