from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import purgeable_users, users_purge_unverified


class Command(BaseCommand):
    help = (
        "Delete never-verified accounts older than --days. Dry run unless --yes. Staff and anyone "
        "with listings, messages, offers, transactions, streams or verifications are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, required=True, help="Minimum account age in days.")
        parser.add_argument("--yes", action="store_true", help="Really delete (default: only count).")

    def handle(self, *args, days: int, yes: bool, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if not yes:
            count = purgeable_users(days=days).count()
            self.stdout.write(f"Dry run: {count} unverified account(s) older than {days} days would be deleted.")
            self.stdout.write("Run again with --yes to delete them.")
            return
        deleted = users_purge_unverified(days=days)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} unverified account(s) older than {days} days."))
