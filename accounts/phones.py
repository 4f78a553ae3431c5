"""Phone numbers: UAE-first parsing to E.164 with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "AE"


def normalize_phone(raw: str) -> str:
    """``05X XXX XXXX``, ``+971 5X XXX XXXX`` and ``009715...`` all give ``+9715XXXXXXXX``.

    Raises ``ValueError`` for anything that is not a valid, dialable number.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise ValueError("phone")
    try:
        parsed = phonenumbers.parse(raw.strip(), DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValueError:
        return None


def region_of(e164: str) -> str | None:
    """The ISO country (``AE``) of a normalised number, ``None`` when it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
