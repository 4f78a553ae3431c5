"""Devices, the inbox and preferences over the API."""

from __future__ import annotations

import pytest

from notifications.models import Device, Kind, Notification
from notifications.services import notify_users
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEVICES = "/api/v1/devices/"
INBOX = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"
PREFERENCES = "/api/v1/notifications/preferences/"


def test_a_device_registers_and_moves_to_whoever_signs_in_on_it(auth_client):
    from notifications import push
    from notifications.models import Delivery
    from notifications.services import delivery_attempt

    layla, omar = UserFactory(), UserFactory()

    first = auth_client(layla).post(DEVICES, {"platform": "ios", "token": "phone-1"})
    # a push for Layla waits (not sent yet: quiet hours, a retry)
    (waiting,) = notify_users(user_ids=[layla.pk], kind=Kind.MESSAGE, texts=lambda: ("Layla", "private"), data={})
    again = auth_client(omar).post(DEVICES, {"platform": "ios", "token": "phone-1"})

    assert first.status_code == again.status_code == 201
    assert list(Device.objects.values_list("user_id", "token")) == [(omar.pk, "phone-1")]
    # and Layla's waiting push never reaches the phone Omar holds now
    assert Delivery.objects.get(pk=waiting).status == "dropped"
    assert delivery_attempt(delivery_id=waiting).outcome == "skipped"
    assert push.outbox == []


@pytest.mark.parametrize(
    ("body", "attr"), [({"platform": "blackberry", "token": "x"}, "platform"), ({"platform": "ios"}, "token")]
)
def test_a_bad_device_is_a_400_naming_the_field(auth_client, body, attr):
    response = auth_client(UserFactory()).post(DEVICES, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr


def test_a_device_is_forgotten_on_sign_out_and_a_strangers_token_is_404(auth_client):
    layla, stranger = UserFactory(), UserFactory()
    Device.objects.create(user=layla, platform="android", token="fcm:abc-123")

    assert auth_client(stranger).delete(f"{DEVICES}fcm:abc-123/").status_code == 404
    assert auth_client(layla).delete(f"{DEVICES}fcm:abc-123/").status_code == 204
    assert auth_client(layla).delete(f"{DEVICES}fcm:abc-123").status_code == 404
    assert not Device.objects.exists()


def test_anonymous_callers_get_401(api_client):
    assert api_client.get(INBOX).status_code == 401
    assert api_client.post(DEVICES, {"platform": "ios", "token": "x"}).status_code == 401


def _notify(user, n, capture):
    with capture(execute=True):
        for i in range(n):
            notify_users(user_ids=[user.pk], kind=Kind.MESSAGE, texts=lambda i=i: (f"title {i}", "body"), data={"i": i})


def test_the_inbox_is_newest_first_with_the_unread_count(auth_client, django_capture_on_commit_callbacks):
    layla, omar = UserFactory(), UserFactory()
    _notify(layla, 3, django_capture_on_commit_callbacks)
    _notify(omar, 2, django_capture_on_commit_callbacks)

    response = auth_client(layla).get(INBOX)

    assert response.status_code == 200
    body = response.json()
    assert [row["title"] for row in body["results"]] == ["title 2", "title 1", "title 0"]
    assert body["unread_count"] == 3 and response["X-Unread-Count"] == "3"
    assert set(body["results"][0]) >= {"id", "kind", "title", "body", "data", "is_read", "created_at"}


def test_reading_by_id_or_all_at_once(auth_client, django_capture_on_commit_callbacks):
    layla, omar = UserFactory(), UserFactory()
    _notify(layla, 3, django_capture_on_commit_callbacks)
    _notify(omar, 1, django_capture_on_commit_callbacks)
    client = auth_client(layla)
    first = Notification.objects.filter(user=layla).order_by("created_at").first()
    someone_elses = Notification.objects.get(user=omar)

    assert client.post(READ, {"ids": [str(first.pk), str(someone_elses.pk)]}).status_code == 204
    assert client.get(INBOX).json()["unread_count"] == 2
    someone_elses.refresh_from_db()
    assert someone_elses.is_read is False  # another person's ids are ignored
    assert client.post(READ, {"all": True}).status_code == 204
    assert client.get(INBOX).json()["unread_count"] == 0
    assert client.post(READ, {}).status_code == 400


@pytest.mark.parametrize("page_size", [2, 20])
def test_the_inbox_runs_constant_queries(
    auth_client, django_capture_on_commit_callbacks, django_assert_max_num_queries, page_size
):
    layla = UserFactory()
    _notify(layla, 25, django_capture_on_commit_callbacks)
    client = auth_client(layla)
    with django_assert_max_num_queries(4):
        response = client.get(INBOX, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


def test_preferences_default_to_push_and_inbox_and_can_be_changed(auth_client):
    client = auth_client(UserFactory())

    defaults = client.get(PREFERENCES).json()
    assert defaults["channels"]["message"] == {"push": True, "sms": False, "email": False, "in_app": True}
    assert defaults["channels"]["payout_released"]["email"] is True
    assert defaults["quiet_hours"] == {"start": None, "end": None, "timezone": "Asia/Dubai"}

    changed = client.patch(
        PREFERENCES,
        {"channels": {"message": {"push": False}}, "quiet_hours": {"start": "22:00", "end": "07:30"}},
    )

    assert changed.status_code == 200
    assert changed.json()["channels"]["message"] == {"push": False, "sms": False, "email": False, "in_app": True}
    assert changed.json()["quiet_hours"] == {"start": "22:00", "end": "07:30", "timezone": "Asia/Dubai"}
    assert client.get(PREFERENCES).json() == changed.json()


@pytest.mark.parametrize(
    "body",
    [
        {"channels": {"lottery": {"push": True}}},
        {"quiet_hours": {"start": "22:00"}},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}},
    ],
)
def test_bad_preferences_are_a_400(auth_client, body):
    response = auth_client(UserFactory()).patch(PREFERENCES, body)
    assert response.status_code == 400, response.content
