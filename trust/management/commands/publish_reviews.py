from django.core.management.base import BaseCommand

from trust.services import reviews_publish_due


class Command(BaseCommand):
    help = "Publish the reviews whose REVIEW_WINDOW_DAYS closed without the other side reviewing. Idempotent."

    def handle(self, *args, **options):
        self.stdout.write(f"published {reviews_publish_due()}")
