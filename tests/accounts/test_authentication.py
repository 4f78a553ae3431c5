"""Bearer tokens (accounts.authentication): the token's person, read by one statement, is the
person the ORM would read; a token whose person is gone, suspended or has changed password is a
401 in the contract's shape, never a 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from soukloop.geo import make_point
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


def bearer(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client


def test_the_tokens_person_is_the_whole_account_read_in_one_query(api_client, auth_client):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import JWTAuthentication

    layla = UserFactory(location=make_point(latitude=25.0805, longitude=55.1403), neighborhood="Dubai Marina")
    request = Request(APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(layla)}"))

    with CaptureQueriesContext(connection) as queries:
        user, _token = JWTAuthentication().authenticate(request)

    assert len(queries) == 1
    expected = User.objects.get(pk=layla.pk)
    for field in User._meta.concrete_fields:
        value, wanted = getattr(user, field.attname), getattr(expected, field.attname)
        assert value == wanted and type(value) is type(wanted), field.attname
    assert user._state.adding is False
    # the instance saves like one the ORM read
    user.bio = "Sneakers, mostly."
    user.save(update_fields=["bio"])
    assert User.objects.get(pk=layla.pk).bio == "Sneakers, mostly."
    assert auth_client(layla).get(ME).json()["username"] == layla.username


def _delete(person):
    person.delete()


def _suspend(person):
    User.objects.filter(pk=person.pk).update(is_active=False)


def _change_password(person):
    person.set_password("a-new-long-passphrase-2026")
    person.save(update_fields=["password"])


@pytest.mark.parametrize("since", [_delete, _suspend, _change_password], ids=["deleted", "suspended", "new password"])
def test_a_token_of_a_person_deleted_suspended_or_with_a_new_password_is_a_401(api_client, since):
    person = UserFactory()
    token = AccessToken.for_user(person)
    assert bearer(api_client, token).get(ME).status_code == 200
    since(person)

    response = bearer(api_client, token).get(ME)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.mark.parametrize("user_id", ["not-a-uuid", "5a0c1f4e-9b1d-4c55-8d7e-2f6a3b9c1d20", ""])
def test_a_signed_token_naming_no_such_person_is_a_401_not_a_500(api_client, user_id):
    # (only someone holding the signing key could make one: still an answer, not a crash)
    token = AccessToken.for_user(UserFactory())
    token["user_id"] = user_id

    response = bearer(api_client, token).get(ME)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_the_schema_still_names_the_bearer_scheme(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert {"jwtAuth": []} in schema["paths"]["/api/v1/auth/me/"]["get"]["security"]
