"""POST /api/v1/auth/register: account, tokens and an OTP to the phone."""

from __future__ import annotations

import pytest

from accounts import sms
from accounts.models import Role, User
from tests.accounts.conftest import REGISTER_URL, last_sms_code, sign_up_body
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_register_creates_an_unverified_account_returns_tokens_and_texts_a_code(post_committed):
    # given a new person's details with a local 05X phone
    body = sign_up_body()

    # when they register
    response = post_committed(REGISTER_URL, body)

    # then they get tokens and their profile; the phone is stored in E.164
    assert response.status_code == 201
    data = response.json()
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 15 * 60
    assert data["access_token"] and data["refresh_token"]
    assert data["user"]["username"] == "noura"
    assert data["user"]["email"] == "noura@example.ae"
    assert data["user"]["phone"] == "+971501234567"
    assert data["user"]["role"] == "seller"
    assert data["user"]["is_verified"] is False
    assert "password" not in data["user"]
    # and a 6-digit code went to the normalised phone
    assert [m.to for m in sms.outbox] == ["+971501234567"]
    assert len(last_sms_code()) == 6
    user = User.objects.get(username="noura")
    assert user.check_password(body["password"])


def test_the_access_token_from_register_opens_me(post_committed, api_client):
    access = post_committed(REGISTER_URL, sign_up_body()).json()["access_token"]

    response = api_client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 200
    assert response.json()["username"] == "noura"


def test_register_works_without_trailing_slash(post_committed):
    response = post_committed(REGISTER_URL.rstrip("/"), sign_up_body())

    assert response.status_code == 201


@pytest.mark.parametrize("role", ["admin", "superuser", ""])
def test_admin_or_unknown_role_is_refused(post_committed, role):
    response = post_committed(REGISTER_URL, sign_up_body(role=role))

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "role"
    assert not User.objects.filter(username="noura").exists()


@pytest.mark.parametrize(
    ("existing", "overrides", "attr"),
    [
        ({"email": "noura@example.ae"}, {}, "email"),
        ({"email": "other@example.ae", "username": "NOURA"}, {}, "username"),
        ({"email": "other@example.ae", "username": "other", "phone": "+971501234567"}, {}, "phone"),
    ],
)
def test_duplicate_email_username_or_phone_is_a_400_naming_the_field(post_committed, existing, overrides, attr):
    # given an account holding the same email / username (other case) / phone (other format)
    UserFactory(**existing)

    # when someone registers with it
    response = post_committed(REGISTER_URL, sign_up_body(**overrides))

    # then 400 names the field, and nothing is sent
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr
    assert sms.outbox == []


def test_weak_password_is_refused_by_django_validators(post_committed):
    response = post_committed(REGISTER_URL, sign_up_body(password="12345678"))

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["attr"] == "password"
    assert "common" in error["detail"] or "numeric" in error["detail"]


def test_password_similar_to_username_is_refused(post_committed):
    response = post_committed(REGISTER_URL, sign_up_body(username="sandstorm2024", password="sandstorm2024"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "password"


@pytest.mark.parametrize("phone", ["12345", "+44 20 7946 0", "not a phone", "05012"])
def test_invalid_phone_is_refused(post_committed, phone):
    response = post_committed(REGISTER_URL, sign_up_body(phone=phone))

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "phone"


def test_both_uae_phone_formats_are_the_same_number(post_committed):
    # given someone registered with +971 5X XXX XXXX
    post_committed(REGISTER_URL, sign_up_body(phone="+971 50 123 4567"))

    # when someone else uses 050 123 4567
    response = post_committed(REGISTER_URL, sign_up_body(email="x@example.ae", username="x", phone="0501234567"))

    # then it is the same phone
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "phone"


@pytest.mark.parametrize("role", [Role.BUYER, Role.SELLER, Role.BOTH])
def test_each_self_assignable_role_registers(post_committed, role):
    response = post_committed(REGISTER_URL, sign_up_body(role=role.value))

    assert response.status_code == 201
    assert User.objects.get(username="noura").role == role
