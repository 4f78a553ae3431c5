from django.core.management.base import BaseCommand

from auctions.services import close_due_lots


class Command(BaseCommand):
    help = "Close every running lot whose time is up (idempotent; run by the beat every 5 s)."

    def handle(self, *args, **options):
        closed = close_due_lots()
        self.stdout.write(f"closed {closed}")
