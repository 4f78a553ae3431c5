from django.core.management.base import BaseCommand, CommandError

from payments.services import checkouts_release_expired


class Command(BaseCommand):
    help = (
        "Free items held by checkouts abandoned for more than CHECKOUT_HOLD_MINUTES: the transaction becomes "
        "failed and its PaymentIntent is cancelled. Safe to run every minute."
    )

    def handle(self, *args, **options):
        report = checkouts_release_expired()
        self.stdout.write(f"released {report.released}, kept (payment in flight) {report.kept}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} checkout(s) could not be released: {', '.join(report.errors)}")
