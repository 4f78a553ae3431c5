"""Emirates ID numbers: ``784-YYYY-NNNNNNN-C``.

784 is the UAE's ISO 3166 numeric code, YYYY the holder's birth year, NNNNNNN a serial and
C a Luhn check digit computed over the first 14 digits.
"""

from __future__ import annotations

import re

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from soukloop.errors import ValidationError

_SEPARATORS = re.compile(r"[\s\-]")
OLDEST_BIRTH_YEAR = 1900


def luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    # Walking right to left, the digit next to the check digit is doubled.
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def normalize_emirates_id(raw: str) -> str:
    """``784199012345671`` or ``784-1990-1234567-1`` → ``784-1990-1234567-1``, or a 400."""
    digits = _SEPARATORS.sub("", raw or "")
    if not digits.isdigit() or len(digits) != 15:
        raise ValidationError(
            _("Enter the 15-digit Emirates ID number, like 784-1990-1234567-1."),
            code="emirates_id_format",
            attr="emirates_id_number",
        )
    if not digits.startswith("784"):
        raise ValidationError(
            _("An Emirates ID number starts with 784."), code="emirates_id_prefix", attr="emirates_id_number"
        )
    year = int(digits[3:7])
    if not OLDEST_BIRTH_YEAR <= year <= timezone.now().year:
        raise ValidationError(
            _("The Emirates ID number does not carry a plausible birth year."),
            code="emirates_id_birth_year",
            attr="emirates_id_number",
        )
    if luhn_check_digit(digits[:14]) != int(digits[14]):
        raise ValidationError(
            _("The Emirates ID number is not valid: please check each digit."),
            code="emirates_id_checksum",
            attr="emirates_id_number",
        )
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:14]}-{digits[14]}"


def last4(normalized: str) -> str:
    return normalized.replace("-", "")[-4:]


def mask_from_last4(last_digits: str) -> str:
    """``784-****-*****12-3``: the country prefix, the last two serial digits and the check digit."""
    if len(last_digits) != 4:
        return ""
    return f"784-****-*****{last_digits[1:3]}-{last_digits[3]}"


def mask(normalized: str) -> str:
    return mask_from_last4(last4(normalized))
