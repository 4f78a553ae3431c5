from django.core.management.base import BaseCommand, CommandError

from payments.services import checkouts_release_expired, offers_lapse_unpaid_accepted


class Command(BaseCommand):
    help = (
        "Free items held by checkouts abandoned for more than CHECKOUT_HOLD_MINUTES: the transaction becomes "
        "failed and its PaymentIntent is cancelled. Accepted offers left unpaid past ACCEPTED_OFFER_HOLD_HOURS "
        "lapse. Safe to run every minute."
    )

    def handle(self, *args, **options):
        report = checkouts_release_expired()
        lapsed = offers_lapse_unpaid_accepted()
        self.stdout.write(
            f"released {report.released}, kept (payment in flight) {report.kept}; "
            f"{lapsed} unpaid accepted offer(s) lapsed"
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} checkout(s) could not be released: {', '.join(report.errors)}")
