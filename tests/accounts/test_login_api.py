"""POST /api/v1/auth/login: email, username or phone; one message for every wrong; lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from tests.accounts.conftest import LOGIN_URL
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hessa(db) -> User:
    return UserFactory(username="Hessa", email="Hessa@Example.ae", phone="+971551112233")


def _login(client, identifier, password=TEST_PASSWORD):
    return client.post(LOGIN_URL, {"identifier": identifier, "password": password}, format="json")


@pytest.mark.parametrize(
    "identifier", ["hessa", "HESSA", "hessa@example.ae", "HESSA@EXAMPLE.AE", "+971551112233", "055 111 2233"]
)
def test_login_by_username_email_or_phone_in_any_case_or_format(api_client, hessa, identifier):
    response = _login(api_client, identifier)

    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 900
    assert data["user"]["id"] == str(hessa.pk)


def test_login_records_last_login_at(api_client, hessa):
    before = timezone.now()

    _login(api_client, "hessa")

    hessa.refresh_from_db()
    assert hessa.last_login_at is not None and hessa.last_login_at >= before


@pytest.mark.parametrize(("identifier", "password"), [("hessa", "wrong-password-1"), ("nobody", TEST_PASSWORD)])
def test_wrong_password_and_unknown_account_get_the_same_401(api_client, hessa, identifier, password):
    response = _login(api_client, identifier, password)

    assert response.status_code == 401
    assert response.json()["errors"] == [
        {"code": "invalid_credentials", "detail": "Invalid credentials.", "attr": None}
    ]


def test_deactivated_account_cannot_log_in_and_gets_the_same_message(api_client, hessa):
    hessa.is_active = False
    hessa.save()

    response = _login(api_client, "hessa")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalid_credentials"


def test_five_failures_from_one_address_back_off_that_address_even_for_the_right_password(api_client, hessa):
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        # given five wrong passwords for one account (in any of its spellings) from one address
        for identifier in ["hessa", "HESSA", "hessa", "Hessa", "hessa"]:
            assert _login(api_client, identifier, "nope-nope-nope").status_code == 401

        # when the right password comes next from there
        locked = _login(api_client, "hessa")

        # then it is refused with 429 and a Retry-After of the back-off (30 s at first)
        assert locked.status_code == 429
        assert locked.json()["errors"][0]["code"] == "login_locked"
        assert 29 <= int(locked["Retry-After"]) <= 30

        # and once the wait is over a further failure doubles it
        clock.shift(timedelta(seconds=31))
        assert _login(api_client, "hessa", "nope-nope-nope").status_code == 401
        assert 59 <= int(_login(api_client, "hessa")["Retry-After"]) <= 60
        clock.shift(timedelta(seconds=61))
        assert _login(api_client, "hessa", "nope-nope-nope").status_code == 401
        assert 119 <= int(_login(api_client, "hessa")["Retry-After"]) <= 120

        # and the right password works once it has passed
        clock.shift(timedelta(seconds=121))
        assert _login(api_client, "hessa").status_code == 200


def test_lockout_of_one_identifier_does_not_lock_another(api_client, hessa):
    other = UserFactory(username="mariam")
    for _ in range(5):
        _login(api_client, "hessa", "nope-nope-nope")

    assert _login(api_client, other.username).status_code == 200


def test_a_success_resets_the_failure_count(api_client, hessa):
    for _ in range(4):
        _login(api_client, "hessa", "nope-nope-nope")
    assert _login(api_client, "hessa").status_code == 200

    for _ in range(4):
        assert _login(api_client, "hessa", "nope-nope-nope").status_code == 401

    assert _login(api_client, "hessa").status_code == 200


def test_failures_spread_over_windows_do_not_lock(api_client, hessa):
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(4):
            _login(api_client, "hessa", "nope-nope-nope")
        clock.shift(timedelta(minutes=16))
        for _ in range(4):
            _login(api_client, "hessa", "nope-nope-nope")

        assert _login(api_client, "hessa").status_code == 200


def test_login_without_fields_is_a_400_per_field(api_client):
    response = api_client.post(LOGIN_URL, {}, format="json")

    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {"identifier", "password"}
