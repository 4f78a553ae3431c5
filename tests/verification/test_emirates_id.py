"""Emirates ID numbers: format, birth year, Luhn check digit, masking."""

from __future__ import annotations

import pytest

from soukloop.errors import ValidationError
from tests.verification.factories import valid_emirates_id
from verification.emirates_id import luhn_check_digit, mask, normalize_emirates_id


def test_a_number_with_or_without_dashes_normalises_to_the_printed_form():
    # given a valid number, written the ways people type it
    number = valid_emirates_id(serial=1234567, year=1990)
    digits = number.replace("-", "")
    # when / then
    for typed in (number, digits, f" {digits} ", digits[:3] + " " + digits[3:7] + " " + digits[7:]):
        assert normalize_emirates_id(typed) == number
    assert number.startswith("784-1990-1234567-")


def test_luhn_check_digit_matches_a_known_number():
    # 784-1968-6570305-0 is the sample number printed on published Emirates ID specimens
    assert luhn_check_digit("78419686570305") == 0
    assert normalize_emirates_id("784196865703050") == "784-1968-6570305-0"


@pytest.mark.parametrize("delta", [1, -1, 5])
def test_an_off_by_one_check_digit_is_refused(delta):
    # given a valid number whose last digit is changed
    number = valid_emirates_id(serial=7654321, year=1985)
    wrong = number[:-1] + str((int(number[-1]) + delta) % 10)
    # when / then
    with pytest.raises(ValidationError) as caught:
        normalize_emirates_id(wrong)
    assert caught.value.code == "emirates_id_checksum"
    assert caught.value.attr == "emirates_id_number"


def test_one_changed_serial_digit_is_caught_by_the_checksum():
    number = valid_emirates_id(serial=1111111, year=1990)
    swapped = number.replace("1111111", "1111121")
    with pytest.raises(ValidationError) as caught:
        normalize_emirates_id(swapped)
    assert caught.value.code == "emirates_id_checksum"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "emirates_id_format"),
        ("78419901234567", "emirates_id_format"),  # 14 digits
        ("7841990123456712", "emirates_id_format"),  # 16 digits
        ("784-1990-12345A7-1", "emirates_id_format"),
        ("785199012345671", "emirates_id_prefix"),
        ("784189912345671", "emirates_id_birth_year"),
        ("784209912345671", "emirates_id_birth_year"),
    ],
)
def test_malformed_numbers_are_refused_with_a_code(typed, code):
    with pytest.raises(ValidationError) as caught:
        normalize_emirates_id(typed)
    assert caught.value.code == code


def test_masking_keeps_the_prefix_the_last_two_serial_digits_and_the_check_digit():
    number = valid_emirates_id(serial=1234512, year=1990)
    masked = mask(number)
    assert masked == f"784-****-*****12-{number[-1]}"
    assert "1990" not in masked
