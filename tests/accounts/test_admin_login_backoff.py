"""The admin sign-in backs off like the API's (moderators' workspace issue: 8 wrong passwords,
then the right one worked, on accounts that see identity documents)."""

from __future__ import annotations

import pytest

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def _admin_login(client, username, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_eight_wrong_admin_passwords_then_the_right_one_is_not_let_in(client, moderator):
    for _ in range(8):
        _admin_login(client, moderator.username, "wrong-wrong-wrong")

    response = _admin_login(client, moderator.username, TEST_PASSWORD)

    assert response.status_code == 200  # the login form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


def test_the_owner_from_another_address_still_gets_in(client, moderator):
    for _ in range(8):
        _admin_login(client, moderator.username, "wrong-wrong-wrong", ip="198.51.100.66")

    response = _admin_login(client, moderator.username, TEST_PASSWORD, ip="203.0.113.7")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(moderator.pk)


def test_api_and_admin_failures_share_one_budget(client, api_client, moderator):
    for _ in range(5):
        api_client.post(
            "/api/v1/auth/login/",
            {"identifier": moderator.username, "password": "nope-nope"},
            format="json",
            REMOTE_ADDR="203.0.113.7",
        )

    response = _admin_login(client, moderator.username, TEST_PASSWORD)

    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
