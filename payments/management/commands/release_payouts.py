from django.core.management.base import BaseCommand, CommandError

from payments.services import payouts_release_due


class Command(BaseCommand):
    help = (
        "Transfer held seller payouts whose buyer-protection hold (PAYOUT_HOLD_DAYS) has passed or whose "
        "buyer confirmed receipt. Disputed and refunded payments are never released. Idempotent."
    )

    def handle(self, *args, **options):
        report = payouts_release_due()
        self.stdout.write(
            f"released {report.released}, waiting for seller onboarding {report.waiting}, "
            f"unclaimed for UNCLAIMED_PAYOUT_DAYS and refunded to the buyer {report.unclaimed_refunded}"
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} payout(s) failed and stay held: {', '.join(report.errors)}")
