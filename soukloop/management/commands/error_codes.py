"""``manage.py error_codes [--write]``: the table of error codes in docs/api.md, from the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from soukloop import error_codes


class Command(BaseCommand):
    help = "Print the API's error codes as a Markdown table; --write updates docs/api.md."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write", action="store_true", help="update docs/api.md between its markers")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write"]:
            changed = error_codes.write(Path(settings.BASE_DIR) / "docs" / "api.md")
            self.stdout.write("docs/api.md updated" if changed else "docs/api.md already up to date")
            return
        self.stdout.write(error_codes.table())
