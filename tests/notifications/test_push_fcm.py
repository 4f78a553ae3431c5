"""Pushes through FCM HTTP v1 (service-account JWT -> OAuth token -> messages:send) against a
strict local stand-in."""

from __future__ import annotations

import pytest

from notifications.models import Delivery, Device, Kind
from notifications.services import delivery_attempt, notify_users
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _notify(user, capture, **data):
    with capture(execute=True):
        return notify_users(
            user_ids=[user.pk], kind=Kind.MESSAGE, texts=lambda: ("layla", "Can you do 120?"), data=data
        )


def test_a_push_gets_an_oauth_token_once_then_sends_the_message(fake_fcm, django_capture_on_commit_callbacks):
    omar = UserFactory()
    Device.objects.create(user=omar, platform="android", token="omar-android")
    Device.objects.create(user=omar, platform="ios", token="omar-iphone")

    _notify(omar, django_capture_on_commit_callbacks, conversation_id="c-1")

    # one token exchange (a JWT signed by the service account), one send per device
    assert fake_fcm.token_requests == 1
    assert sorted(message["token"] for message in fake_fcm.sent) == ["omar-android", "omar-iphone"]
    message = fake_fcm.sent[0]
    assert message["notification"] == {"title": "layla", "body": "Can you do 120?"}
    assert message["data"]["conversation_id"] == "c-1"
    assert message["data"]["kind"] == "message"
    assert all(isinstance(value, str) for value in message["data"].values())
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert all(
        name.startswith("projects/soukloop-test/messages/")
        for name in Delivery.objects.values_list("provider_id", flat=True)
    )


def test_a_token_firebase_no_longer_knows_is_forgotten(fake_fcm, django_capture_on_commit_callbacks):
    omar = UserFactory()
    Device.objects.create(user=omar, platform="android", token="old-phone")
    Device.objects.create(user=omar, platform="android", token="new-phone")
    fake_fcm.unregistered.add("old-phone")

    _notify(omar, django_capture_on_commit_callbacks)

    assert list(Device.objects.values_list("token", flat=True)) == ["new-phone"]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["dropped", "sent"]


def test_fcm_unavailable_is_retried_then_sent(fake_fcm, django_capture_on_commit_callbacks, settings):
    from datetime import timedelta

    from django.utils import timezone

    omar = UserFactory()
    Device.objects.create(user=omar, platform="android", token="omar-android")
    fake_fcm.fail_next = 1

    (delivery_id,) = _notify(omar, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "503" in delivery.last_error
    later = timezone.now() + timedelta(seconds=settings.NOTIFY_RETRY_BACKOFF_SECONDS + 1)
    assert delivery_attempt(delivery_id=delivery_id, now=later).outcome == "sent"
    assert len(fake_fcm.sent) == 1


def test_a_service_account_whose_key_firebase_does_not_know_gets_no_token(fake_fcm, tmp_path, settings):
    from notifications import fcm
    from notifications.push import PushMessage
    from notifications.testing.stand_ins import service_account_file

    other = tmp_path / "other.json"
    service_account_file(other, token_uri=fake_fcm.token_uri)  # a different key
    settings.FCM_SERVICE_ACCOUNT_FILE = str(other)
    fcm._credentials.cache_clear()

    with pytest.raises(Exception, match=r"invalid_grant|Invalid JWT"):
        fcm.FCMPushBackend().send(PushMessage(token="t", platform="android", title="x", body="y"))
    assert fake_fcm.sent == []
