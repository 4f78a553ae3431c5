from django.core.management.base import BaseCommand

from streams.models import Stream, StreamStatus
from streams.services import stream_viewers_sync


class Command(BaseCommand):
    help = (
        "Write the current viewer counts of every live stream to its row, so lists ordered by "
        "viewers stay right when nobody joins or leaves (idempotent; run every minute)."
    )

    def handle(self, *args, **options) -> None:
        synced = 0
        for stream in Stream.objects.filter(status=StreamStatus.LIVE).only("id", "status"):
            stream_viewers_sync(stream=stream)
            synced += 1
        self.stdout.write(f"Synced viewer counts of {synced} live stream(s).")
