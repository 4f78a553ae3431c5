"""Refresh rotation, blacklist, logout, revocation, and the concurrent refresh race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.services import user_deactivate
from tests.accounts.conftest import LOGIN_URL, LOGOUT_URL, ME_URL, REFRESH_URL, RESET_URL, STRONG_PASSWORD
from tests.factories import TEST_PASSWORD, UserFactory


def _tokens(client, user: User) -> dict:
    response = client.post(LOGIN_URL, {"identifier": user.username, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def _refresh(client, token: str):
    return client.post(REFRESH_URL, {"refresh_token": token}, format="json")


@pytest.mark.django_db
def test_refresh_gives_a_new_pair_and_the_old_refresh_token_is_then_rejected(api_client, buyer):
    # given a signed-in person
    first = _tokens(api_client, buyer)

    # when they refresh
    response = _refresh(api_client, first["refresh_token"])

    # then a new, working pair comes back
    assert response.status_code == 200
    second = response.json()
    assert set(second) >= {"access_token", "refresh_token", "token_type", "expires_in"}
    assert second["refresh_token"] != first["refresh_token"]
    assert api_client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {second['access_token']}").status_code == 200
    # and the used refresh token is dead
    reused = _refresh(api_client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["type"] == "client_error"
    # while the new one still works
    assert _refresh(api_client, second["refresh_token"]).status_code == 200


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token_and_is_idempotent(api_client, buyer):
    tokens = _tokens(api_client, buyer)

    response = api_client.post(LOGOUT_URL, {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 204
    assert _refresh(api_client, tokens["refresh_token"]).status_code == 401
    again = api_client.post(LOGOUT_URL.rstrip("/"), {"refresh_token": tokens["refresh_token"]}, format="json")
    assert again.status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_malformed_refresh_token_is_401_or_400_never_500(api_client, token):
    response = _refresh(api_client, token)

    assert response.status_code == (400 if token == "" else 401)


@pytest.mark.django_db
def test_an_access_token_is_not_accepted_as_a_refresh_token(api_client, buyer):
    tokens = _tokens(api_client, buyer)

    assert _refresh(api_client, tokens["access_token"]).status_code == 401


@pytest.mark.django_db
def test_expired_refresh_token_is_401(api_client, buyer):
    tokens = _tokens(api_client, buyer)

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert _refresh(api_client, tokens["refresh_token"]).status_code == 401


@pytest.mark.django_db
def test_refresh_of_a_deleted_user_is_401(api_client, buyer):
    tokens = _tokens(api_client, buyer)
    buyer.delete()

    response = _refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401


@pytest.mark.django_db
def test_refresh_of_a_deactivated_user_is_401(api_client, buyer):
    tokens = _tokens(api_client, buyer)
    User.objects.filter(pk=buyer.pk).update(is_active=False)

    response = _refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401
    # and reactivating does not bring the token back when deactivation went through the service
    User.objects.filter(pk=buyer.pk).update(is_active=True)
    user_deactivate(user=buyer)
    User.objects.filter(pk=buyer.pk).update(is_active=True)
    assert _refresh(api_client, tokens["refresh_token"]).status_code == 401


@pytest.mark.django_db
def test_password_change_revokes_every_refresh_token_but_returns_a_fresh_pair(api_client, auth_client, buyer):
    phone_session = _tokens(api_client, buyer)
    laptop_session = _tokens(api_client, buyer)

    response = auth_client(buyer).post(
        "/api/v1/auth/change-password",
        {"current_password": TEST_PASSWORD, "new_password": STRONG_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert _refresh(api_client, phone_session["refresh_token"]).status_code == 401
    assert _refresh(api_client, laptop_session["refresh_token"]).status_code == 401
    assert _refresh(api_client, response.json()["refresh_token"]).status_code == 200


@pytest.mark.django_db
def test_password_change_also_kills_access_tokens_already_issued(api_client, buyer):
    old = _tokens(api_client, buyer)
    me = {"HTTP_AUTHORIZATION": f"Bearer {old['access_token']}"}
    assert api_client.get(ME_URL, **me).status_code == 200

    response = api_client.post(
        "/api/v1/auth/change-password",
        {"current_password": TEST_PASSWORD, "new_password": STRONG_PASSWORD},
        format="json",
        **me,
    )

    assert response.status_code == 200
    assert api_client.get(ME_URL, **me).status_code == 401
    fresh = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}
    assert api_client.get(ME_URL, **fresh).status_code == 200


@pytest.mark.django_db
def test_password_change_with_wrong_current_password_is_400(auth_client, buyer):
    response = auth_client(buyer).post(
        "/api/v1/auth/change-password",
        {"current_password": "not-it-at-all", "new_password": STRONG_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "current_password"


@pytest.mark.django_db
def test_password_reset_revokes_every_refresh_token(api_client, buyer, post_committed, mailoutbox):
    session = _tokens(api_client, buyer)
    post_committed("/api/v1/auth/forgot-password", {"email": buyer.email})
    token = mailoutbox[-1].body.split("Your reset token: ")[1].split()[0]

    assert api_client.post(RESET_URL, {"token": token, "new_password": STRONG_PASSWORD}).status_code == 200

    assert _refresh(api_client, session["refresh_token"]).status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_of_one_token_exactly_one_succeeds():
    # given one refresh token
    from rest_framework.test import APIClient

    user = UserFactory()
    token = _tokens(APIClient(), user)["refresh_token"]
    results: list[int] = []
    barrier = threading.Barrier(8)

    def refresh_once():
        client = APIClient()
        barrier.wait()
        try:
            results.append(_refresh(client, token).status_code)
        finally:
            connection.close()

    # when eight devices refresh it at the same instant
    threads = [threading.Thread(target=refresh_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one gets a new pair; the others are refused
    assert sorted(results) == [200] + [401] * 7
