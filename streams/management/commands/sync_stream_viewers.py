from django.core.management.base import BaseCommand

from streams.models import Stream, StreamStatus
from streams.services import stream_viewers_sync
from streams.viewers import uses_redis


class Command(BaseCommand):
    help = (
        "Write the current viewer counts of every live stream to its row, so lists ordered by "
        "viewers stay right when nobody joins or leaves (idempotent; run every minute)."
    )

    def handle(self, *args, **options) -> None:
        if not uses_redis():
            # The local-memory cache belongs to the server process; from here every count
            # would read as zero and overwrite the real ones.
            self.stdout.write("Viewer counts live in the server's memory (no REDIS_URL): nothing to sync.")
            return
        synced = 0
        for stream in Stream.objects.filter(status=StreamStatus.LIVE).only("id", "status"):
            stream_viewers_sync(stream=stream)
            synced += 1
        self.stdout.write(f"Synced viewer counts of {synced} live stream(s).")
