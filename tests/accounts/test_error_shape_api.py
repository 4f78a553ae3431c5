"""The contract's error shape for this app's 400 and 401, in English and Arabic."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import LOGIN_URL, ME_URL, REGISTER_URL, sign_up_body
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BAD_SIGN_UP = {"email": "not-an-email", "username": "no spaces!", "password": "", "phone": "", "role": "admin"}


@pytest.mark.parametrize("language", ["en", "ar"])
def test_register_with_bad_fields_is_a_400_with_one_entry_per_field(api_client, language):
    response = api_client.post(REGISTER_URL, BAD_SIGN_UP, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert sorted(e["attr"] for e in body["errors"]) == ["email", "password", "phone", "role", "username"]
    assert all(set(e) == {"code", "detail", "attr"} for e in body["errors"])


def test_register_errors_are_in_arabic_when_asked(api_client):
    response = api_client.post(REGISTER_URL, BAD_SIGN_UP, format="json", HTTP_ACCEPT_LANGUAGE="ar")

    details = {e["attr"]: e["detail"] for e in response.json()["errors"]}
    assert details["email"] == "يرجى إدخال عنوان بريد إلكتروني صحيح."
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in detail) for detail in details.values())


def test_duplicate_email_message_in_arabic(api_client):
    UserFactory(email="noura@example.ae")

    response = api_client.post(REGISTER_URL, sign_up_body(), format="json", HTTP_ACCEPT_LANGUAGE="ar")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"code": "email_taken", "detail": "يوجد حساب بهذا البريد الإلكتروني بالفعل.", "attr": "email"}
    ]


@pytest.mark.parametrize(
    ("language", "detail"),
    [("en", "Authentication credentials were not provided."), ("ar", "لم يتم تزويد بيانات الدخول.")],
)
def test_me_without_a_token_is_a_401_in_the_contract_shape(api_client, language, detail):
    response = api_client.get(ME_URL, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 401
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_authenticated", "detail": detail, "attr": None}],
    }


def test_bad_login_in_arabic(api_client):
    response = api_client.post(
        LOGIN_URL, {"identifier": "nobody", "password": "whatever-it-is"}, format="json", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == "بيانات الدخول غير صحيحة."


def test_garbage_bearer_token_is_401_not_500(api_client):
    response = api_client.get(ME_URL, HTTP_AUTHORIZATION="Bearer not.a.jwt")

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"email": ["x"]}'])
def test_malformed_bodies_are_4xx(api_client, body):
    response = api_client.post(REGISTER_URL, body, content_type="application/json")

    assert 400 <= response.status_code < 500
