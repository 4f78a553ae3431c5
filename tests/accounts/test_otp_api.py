"""send-otp / verify-otp: hashed codes, 3 sends an hour, 5 wrong tries burn the code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from accounts import sms
from accounts.models import User
from tests.accounts.conftest import SEND_OTP_URL, VERIFY_OTP_URL, last_sms_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+971501234567"


@pytest.fixture
def unverified(db) -> User:
    return UserFactory(username="khalid", email="khalid@example.ae", phone=PHONE, is_verified=False)


def test_send_then_verify_marks_the_person_verified(post_committed, api_client, unverified):
    # given a code sent to the phone written the local way
    assert post_committed(SEND_OTP_URL, {"phone": "050-123-4567"}).status_code == 202
    code = last_sms_code(PHONE)

    # when the right code comes back
    response = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code}, format="json")

    # then the person is verified and the code is spent
    assert response.status_code == 200
    assert response.json() == {"is_verified": True}
    unverified.refresh_from_db()
    assert unverified.is_verified is True
    assert api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code}).status_code == 400


def test_the_code_is_stored_hashed_not_in_clear(post_committed, unverified):
    post_committed(SEND_OTP_URL, {"phone": PHONE})
    code = last_sms_code(PHONE)

    stored = [cache.get(k) for k in _otp_keys()]

    assert stored, "the code should be in the cache"
    assert all(code not in repr(value) for value in stored)


def _otp_keys() -> list[str]:
    from accounts import limits

    return [limits.cache_key("otp", limits.digest(PHONE))]


def test_email_codes_go_by_email(post_committed, api_client, unverified, mailoutbox):
    assert post_committed(SEND_OTP_URL, {"email": "KHALID@example.ae"}).status_code == 202
    assert mailoutbox[-1].to == ["khalid@example.ae"]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)

    response = api_client.post(VERIFY_OTP_URL, {"email": "khalid@example.ae", "otp_code": code}, format="json")

    assert response.status_code == 200


def test_wrong_code_is_400_on_otp_code(post_committed, api_client, unverified):
    post_committed(SEND_OTP_URL, {"phone": PHONE})
    wrong = "000000" if last_sms_code(PHONE) != "000000" else "111111"

    response = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": wrong}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "otp_code"
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_five_wrong_codes_burn_it_so_the_right_one_fails_too(post_committed, api_client, unverified):
    post_committed(SEND_OTP_URL, {"phone": PHONE})
    code = last_sms_code(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    statuses = [api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": wrong}).status_code for _ in range(5)]
    right = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code}, format="json")

    assert statuses == [400] * 5
    assert right.status_code == 400
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_a_new_code_after_burning_works(post_committed, api_client, unverified):
    post_committed(SEND_OTP_URL, {"phone": PHONE})
    for _ in range(5):
        api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": "999999"})
    post_committed(SEND_OTP_URL, {"phone": PHONE})

    response = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": last_sms_code(PHONE)})

    assert response.status_code == 200
    unverified.refresh_from_db()
    assert unverified.is_verified


def test_code_expires_after_otp_ttl(post_committed, api_client, unverified, settings):
    with time_machine.travel(datetime(2026, 11, 28, 9, 0, tzinfo=UTC), tick=False) as clock:
        post_committed(SEND_OTP_URL, {"phone": PHONE})
        code = last_sms_code(PHONE)

        clock.shift(timedelta(seconds=settings.OTP_TTL_SECONDS + 1))
        response = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "otp_invalid"


def test_fourth_send_in_an_hour_is_429_with_retry_after_then_allowed_next_hour(post_committed, unverified):
    with time_machine.travel(datetime(2026, 11, 28, 9, 15, tzinfo=UTC), tick=False) as clock:
        # given three sends in one hour
        assert [post_committed(SEND_OTP_URL, {"phone": PHONE}).status_code for _ in range(3)] == [202] * 3

        # when a fourth comes (in another format of the same number)
        response = post_committed(SEND_OTP_URL, {"phone": "0501234567"})

        # then 429 with Retry-After up to the end of the window, and no SMS
        assert response.status_code == 429
        assert response.json()["errors"][0]["code"] == "otp_rate_limited"
        assert int(response["Retry-After"]) == 45 * 60
        assert len(sms.outbox) == 3

        # and the next hour it works again
        clock.shift(timedelta(minutes=45, seconds=1))
        assert post_committed(SEND_OTP_URL, {"phone": PHONE}).status_code == 202


def test_unknown_phone_gets_the_same_202_and_no_message(post_committed, db):
    response = post_committed(SEND_OTP_URL, {"phone": "+971509998877"})

    assert response.status_code == 202
    assert sms.outbox == []


@pytest.mark.parametrize(
    "body",
    [{}, {"phone": PHONE, "email": "khalid@example.ae"}, {"phone": "abc"}, {"email": "not-an-email"}],
)
def test_send_otp_needs_exactly_one_valid_identifier(api_client, unverified, body):
    response = api_client.post(SEND_OTP_URL, body, format="json")

    assert response.status_code == 400


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_verify_needs_six_digits(api_client, unverified, code):
    response = api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "otp_code"


def test_register_code_verifies_the_new_account(registered, api_client):
    response = api_client.post(
        VERIFY_OTP_URL, {"phone": registered["user"]["phone"], "otp_code": last_sms_code()}, format="json"
    )

    assert response.status_code == 200
    assert User.objects.get(username="noura").is_verified is True
