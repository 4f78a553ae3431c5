from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from verification.services import verification_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Emirates ID number under the first key of FIELD_ENCRYPTION_KEYS. "
        "Prepend a new key, run this, then drop the old key. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        try:
            rotated = verification_rotate_keys()
        except Exception as exc:  # InvalidToken: a stored number no configured key opens
            raise CommandError(f"rotation stopped, nothing changed: {exc.__class__.__name__}") from exc
        self.stdout.write(f"re-encrypted {rotated} Emirates ID numbers")
