"""The Moderators group after migrate, and the users admin (search, filters, deactivate)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import User
from accounts.roles import (
    MODERATOR_PERMISSIONS,
    MODERATORS_GROUP,
    sync_moderators_group,
    sync_moderators_group_after_migrate,
)
from tests.accounts.conftest import LOGIN_URL, REFRESH_URL
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_migrate_leaves_a_moderators_group_with_every_listed_permission():
    # given the test database was built by migrate (post_migrate ran the sync)
    group = Group.objects.get(name=MODERATORS_GROUP)

    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    # then every listed permission that exists in the installed apps is granted
    from django.contrib.auth.models import Permission

    existing = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    assert granted == set(MODERATOR_PERMISSIONS) & existing
    assert "accounts.view_user" in granted
    assert "accounts.delete_user" not in granted


def test_sync_is_idempotent_and_restores_removed_permissions():
    group = sync_moderators_group()
    before = set(group.permissions.values_list("pk", flat=True))
    group.permissions.clear()

    call_command("migrate", verbosity=0)  # post_migrate fires again

    assert set(Group.objects.get(name=MODERATORS_GROUP).permissions.values_list("pk", flat=True)) == before


def test_an_empty_permission_list_grants_nothing(monkeypatch):
    # the permissions are OR-ed into one Q, and an empty Q() matches every permission there is
    monkeypatch.setattr("accounts.roles.MODERATOR_PERMISSIONS", ())
    Group.objects.filter(name=MODERATORS_GROUP).delete()
    assert sync_moderators_group().permissions.count() == 0


def test_moderator_is_not_superuser_but_can_see_users(moderator):
    assert not moderator.is_superuser
    assert moderator.has_perm("accounts.view_user")
    assert not moderator.has_perm("accounts.delete_user")


def test_admin_search_finds_a_phone_typed_the_local_way(client, moderator):
    UserFactory(username="target", phone="+971551234567")
    UserFactory(username="other", phone="+971551234568")
    client.force_login(moderator)

    response = client.get("/admin/accounts/user/", {"q": "055 123 4567"})

    assert response.status_code == 200
    usernames = [u.username for u in response.context["cl"].result_list]
    assert usernames == ["target"]


def test_admin_filters_by_role_and_verification(client, moderator):
    UserFactory(username="unverified_seller", role="seller", is_verified=False)
    client.force_login(moderator)

    response = client.get("/admin/accounts/user/", {"role__exact": "seller", "is_verified__exact": "0"})

    assert [u.username for u in response.context["cl"].result_list] == ["unverified_seller"]


def test_admin_deactivate_action_signs_the_person_out(client, moderator, api_client):
    person = UserFactory(username="spammer")
    refresh = api_client.post(LOGIN_URL, {"identifier": "spammer", "password": TEST_PASSWORD}).json()["refresh_token"]
    client.force_login(moderator)

    client.post(
        "/admin/accounts/user/",
        {"action": "deactivate_and_sign_out", "_selected_action": [str(person.pk)]},
    )

    assert User.objects.get(pk=person.pk).is_active is False
    assert api_client.post(REFRESH_URL, {"refresh_token": refresh}).status_code == 401


def test_the_sync_runs_once_per_migrate_in_a_few_queries(django_assert_num_queries, django_assert_max_num_queries):
    """post_migrate is sent once per app, and again after every test database flush: the sync
    waits for the last app (whose permissions are the last made) and asks for all at once."""
    from django.apps import apps

    Group.objects.get(name=MODERATORS_GROUP).permissions.clear()
    with django_assert_num_queries(0):
        sync_moderators_group_after_migrate(app_config=apps.get_app_config("auth"))
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    with django_assert_max_num_queries(4):
        sync_moderators_group_after_migrate(app_config=last)
    assert Group.objects.get(name=MODERATORS_GROUP).permissions.count() == len(MODERATOR_PERMISSIONS)
