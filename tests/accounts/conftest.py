from __future__ import annotations

import re

import pytest

from accounts import sms

REGISTER_URL = "/api/v1/auth/register/"
LOGIN_URL = "/api/v1/auth/login/"
REFRESH_URL = "/api/v1/auth/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
SEND_OTP_URL = "/api/v1/auth/send-otp/"
VERIFY_OTP_URL = "/api/v1/auth/verify-otp/"
FORGOT_URL = "/api/v1/auth/forgot-password/"
RESET_URL = "/api/v1/auth/reset-password/"
ME_URL = "/api/v1/auth/me/"
STRONG_PASSWORD = "Dune-Bashing-At-Dawn-77"


def sign_up_body(**overrides) -> dict:
    body = {
        "email": "Noura@Example.ae",
        "username": "noura",
        "password": STRONG_PASSWORD,
        "phone": "050 123 4567",
        "full_name": "Noura Al Mansoori",
        "role": "seller",
    }
    body.update(overrides)
    return body


def last_sms_code(to: str | None = None) -> str:
    messages = [m for m in sms.outbox if to is None or m.to == to]
    assert messages, "no SMS was sent"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


@pytest.fixture
def post_committed(api_client, django_capture_on_commit_callbacks):
    """POST through the URL and run on-commit callbacks (SMS/email) as a real commit would."""

    def post(url: str, data: dict, client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api_client).post(url, data, format="json", **extra)

    return post


@pytest.fixture
def registered(db, post_committed):
    """A person who signed up through the API (unverified); returns the response body."""
    response = post_committed(REGISTER_URL, sign_up_body())
    assert response.status_code == 201, response.content
    return response.json()
