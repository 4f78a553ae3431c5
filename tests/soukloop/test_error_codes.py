"""docs/api.md's table of error codes is complete and current."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from soukloop import error_codes


def test_the_documented_table_is_what_the_source_raises():
    doc = Path(settings.BASE_DIR) / "docs" / "api.md"
    assert error_codes.documented(doc) == error_codes.table(), "run: manage.py error_codes --write"


def test_the_scan_finds_codes_of_every_kind_of_raise():
    found = error_codes.scan()
    assert "product_reserved" in found  # Conflict(..., code=...)
    assert "conversation_not_found" in found  # realtime's Refusal("code", "detail")
    assert found["already_refunded"].meanings == ["This payment has already been refunded."]
    assert "migrations" not in str(found)
