"""Moderators suspend accounts with a reason and a duration (moderators' workspace issue): the
person is signed out everywhere, told why, and gets back in when it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from accounts.models import User
from tests.accounts.conftest import LOGIN_URL
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


def _login(api_client, username):
    return api_client.post(LOGIN_URL, {"identifier": username, "password": TEST_PASSWORD}, format="json")


def test_a_moderator_suspends_after_a_confirmation_and_the_person_is_out_everywhere(
    client, moderator, api_client, auth_client, mailoutbox, django_capture_on_commit_callbacks
):
    person = UserFactory(username="spammer", email="spammer@example.ae")
    tokens = _login(api_client, "spammer").json()
    signed_in = auth_client(person)
    client.force_login(moderator)
    chosen = {"action": "suspend_users", "_selected_action": [str(person.pk)]}

    # the action first asks for a reason and a duration
    confirm = client.post(CHANGELIST, chosen)
    assert confirm.status_code == 200 and b"Yes, suspend" in confirm.content
    assert User.objects.get(pk=person.pk).is_active

    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGELIST, {**chosen, "apply": "1", "reason": "Selling counterfeit sneakers", "days": "7"})

    person.refresh_from_db()
    assert person.is_active is False and person.suspension_reason == "Selling counterfeit sneakers"
    # signed out everywhere: the access token and the refresh token stop working
    assert signed_in.get("/api/v1/auth/me/").status_code == 401
    refresh = api_client.post("/api/v1/auth/refresh/", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refresh.status_code == 401
    # told why, by email and when signing in
    refused = _login(api_client, "spammer")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "account_suspended"
    assert "Selling counterfeit sneakers" in refused.json()["errors"][0]["detail"]
    assert any("Selling counterfeit sneakers" in m.body for m in mailoutbox)
    # and the moderator's decision is in the account's history
    assert "Suspended for 7 days" in LogEntry.objects.get(object_id=str(person.pk)).get_change_message()


def test_a_wrong_password_on_a_suspended_account_learns_nothing(api_client, moderator):
    from accounts.services import user_suspend

    person = UserFactory(username="quiet")
    user_suspend(user=person, by=moderator, reason="Harassment", days=3)

    response = api_client.post(LOGIN_URL, {"identifier": "quiet", "password": "not-the-password"}, format="json")

    assert response.status_code == 401
    assert "Harassment" not in response.content.decode()


def test_the_account_comes_back_when_the_suspension_ends(api_client, moderator):
    from accounts.services import user_suspend

    person = UserFactory(username="back_soon")
    user_suspend(user=person, by=moderator, reason="Cool-off", days=2)

    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        response = _login(api_client, "back_soon")

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.is_active and person.suspended_until is None


def test_staff_accounts_are_not_suspended_from_the_moderators_action(client, moderator):
    other = UserFactory(username="mod_two", is_staff=True)
    client.force_login(moderator)

    client.post(
        CHANGELIST,
        {"action": "suspend_users", "_selected_action": [str(other.pk)], "apply": "1", "reason": "x", "days": "1"},
    )

    other.refresh_from_db()
    assert other.is_active
