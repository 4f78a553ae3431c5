"""Moderators hold ``accounts.change_user`` but must never grant privileges or take over
accounts (security review, finding 1). Each test failed before the admin was restricted."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _change_form_data(user: User, **extra) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "phone": user.phone or "",
        "full_name": user.full_name,
        "avatar_url": "",
        "bio": "",
        "role": user.role,
        "verification_status": user.verification_status,
        "neighborhood": "",
        "building_name": "",
        "stripe_customer_id": "",
        "stripe_connect_account_id": "",
        "is_active": "on",
    }
    data.update(extra)
    return data


def test_a_moderator_cannot_make_themselves_superuser(client, moderator):
    client.force_login(moderator)
    url = f"/admin/accounts/user/{moderator.pk}/change/"

    client.post(url, _change_form_data(moderator, is_superuser="on", is_staff="on"))

    moderator.refresh_from_db()
    assert moderator.is_superuser is False


def test_a_moderator_cannot_grant_a_regular_user_staff_or_superuser(client, moderator):
    person = UserFactory(username="plain")
    client.force_login(moderator)

    response = client.post(
        f"/admin/accounts/user/{person.pk}/change/",
        _change_form_data(person, is_superuser="on", is_staff="on", full_name="Renamed"),
    )

    assert response.status_code == 302  # the profile part saves
    person.refresh_from_db()
    assert person.full_name == "Renamed"
    assert (person.is_staff, person.is_superuser) == (False, False)


def test_the_moderator_form_shows_no_privilege_or_password_fields(client, moderator):
    person = UserFactory(username="plain")
    client.force_login(moderator)

    response = client.get(f"/admin/accounts/user/{person.pk}/change/")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert not set(form.fields) & {"is_superuser", "is_staff", "groups", "user_permissions"}
    # Django's user form always declares the hash field; it is read-only and not shown here
    assert "password" not in {f for _, opts in response.context["adminform"].fieldsets for f in opts["fields"]}
    assert b"/password/" not in response.content


def test_a_moderator_cannot_set_a_superusers_password(client, moderator):
    boss = User.objects.create_superuser(username="boss", email="boss@soukloop.ae", password="old-Passw0rd!")
    client.force_login(moderator)

    response = client.post(
        f"/admin/accounts/user/{boss.pk}/password/",
        {"password1": "Taken-0ver!!", "password2": "Taken-0ver!!", "usable_password": "true"},
    )

    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.check_password("old-Passw0rd!")


def test_a_moderator_cannot_set_a_regular_users_password_either(client, moderator):
    person = UserFactory(username="plain")
    client.force_login(moderator)

    response = client.get(f"/admin/accounts/user/{person.pk}/password/")

    assert response.status_code == 403


def test_a_moderator_cannot_edit_another_staff_account(client, moderator):
    other = UserFactory(username="mod_two", is_staff=True)
    client.force_login(moderator)

    response = client.post(f"/admin/accounts/user/{other.pk}/change/", _change_form_data(other, full_name="X"))

    assert response.status_code == 403
    other.refresh_from_db()
    assert other.full_name != "X"


def test_a_moderator_cannot_deactivate_staff_with_the_bulk_action(client, moderator):
    other = UserFactory(username="mod_two", is_staff=True)
    client.force_login(moderator)

    client.post(
        "/admin/accounts/user/",
        {"action": "deactivate_and_sign_out", "_selected_action": [str(other.pk)]},
    )

    other.refresh_from_db()
    assert other.is_active is True


def test_a_superuser_still_manages_privileges(client):
    boss = User.objects.create_superuser(username="boss", email="boss@soukloop.ae", password="old-Passw0rd!")
    person = UserFactory(username="plain")
    client.force_login(boss)

    response = client.post(f"/admin/accounts/user/{person.pk}/change/", _change_form_data(person, is_staff="on"))

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.is_staff is True
