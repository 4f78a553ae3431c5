from django.core.management.base import BaseCommand

from trust.services import claims_escalate_due


class Command(BaseCommand):
    help = (
        "Hand to moderators the claims whose seller did not answer within CLAIM_SELLER_RESPONSE_HOURS, that the "
        "seller contested, or whose partial-refund proposal the buyer did not accept in time. Idempotent."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"escalated {claims_escalate_due()}")
