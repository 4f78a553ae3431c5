from __future__ import annotations

import pytest

from accounts.phones import normalize_phone


@pytest.mark.parametrize(
    "raw", ["0501234567", "050 123 4567", "+971 50 123 4567", "+971501234567", "00971501234567", "971501234567"]
)
def test_uae_mobile_formats_normalise_to_one_e164_number(raw):
    assert normalize_phone(raw) == "+971501234567"


def test_foreign_numbers_keep_their_country():
    assert normalize_phone("+44 7911 123456") == "+447911123456"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "050", "+971 50 123", "1" * 40, None])
def test_invalid_numbers_raise_value_error(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)
