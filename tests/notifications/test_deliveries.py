"""From a domain event to an inbox row and the sends a person asked for; the outbox when the
broker is down; retries, dead letters and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from notifications import push
from notifications.models import Delivery, Device, Kind, Notification, Preferences
from notifications.services import delivery_attempt, notify_users, preferences_update
from soukloop import events
from tests.conftest import drop_broker_connections
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _device(user, name="phone"):
    return Device.objects.create(user=user, platform="android", token=f"{name}-{user.pk}")


def _publish(capture, event_type, **data):
    with capture(execute=True):
        events.publish(event_type, channel=None, data=data)


def test_each_event_makes_one_inbox_row_and_one_push_per_device(django_capture_on_commit_callbacks):
    seller, buyer = UserFactory(), UserFactory()
    _device(seller, "a"), _device(seller, "b")

    _publish(
        django_capture_on_commit_callbacks,
        "checkout.paid",
        transaction_id="t-1",
        seller_id=str(seller.pk),
        buyer_id=str(buyer.pk),
        product_id="p",
        product_title="Yeezy 350",
        amount="149.00",
        currency="AED",
    )

    (note,) = Notification.objects.filter(user=seller)
    assert (note.kind, note.title) == ("checkout_paid", "Sold: Yeezy 350")
    assert "149.00" in note.body
    channels = sorted(Delivery.objects.filter(notification__user=seller).values_list("channel", flat=True))
    assert channels == ["email", "push", "push"]  # checkout_paid also emails by default
    assert len(push.outbox) == 2
    # and the buyer gets a receipt (by email too; no device, so no push)
    (receipt,) = Notification.objects.filter(user=buyer)
    assert (receipt.kind, receipt.title) == ("receipt", "Receipt: Yeezy 350")
    assert list(Delivery.objects.filter(notification=receipt).values_list("channel", flat=True)) == ["email"]


def test_the_same_event_twice_notifies_once(django_capture_on_commit_callbacks):
    seller = UserFactory()
    _device(seller)
    for _ in range(2):
        _publish(
            django_capture_on_commit_callbacks,
            "payout.released",
            transaction_id="t-9",
            seller_id=str(seller.pk),
            amount="90.00",
        )
    assert Notification.objects.count() == 1
    assert len(push.outbox) == 1


def test_preferences_decide_the_channels_and_the_inbox(django_capture_on_commit_callbacks):
    seller = UserFactory()
    _device(seller)
    preferences_update(
        user=seller, channels={"payout_released": {"push": False, "email": False, "in_app": False, "sms": True}}
    )

    with django_capture_on_commit_callbacks(execute=True):
        notify_users(user_ids=[seller.pk], kind=Kind.PAYOUT_RELEASED, texts=lambda: ("Payout", "AED 1"), data={})

    assert list(Delivery.objects.values_list("channel", flat=True)) == ["sms"]
    assert push.outbox == []
    assert Notification.objects.get().in_inbox is False  # kept for the deliveries, not listed


def test_arabic_speakers_get_arabic_texts(django_capture_on_commit_callbacks):
    arabic, english = UserFactory(language="ar"), UserFactory(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        for user in (arabic, english):
            events.publish(
                "verification.decided",
                channel=None,
                data={"user_id": str(user.pk), "verification_id": f"v-{user.pk}", "status": "approved"},
            )
    assert Notification.objects.get(user=english).title == "You are verified"
    assert Notification.objects.get(user=arabic).title != "You are verified"


def test_a_rollback_notifies_no_one(django_capture_on_commit_callbacks):
    seller = UserFactory()
    _device(seller)

    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom), transaction.atomic():
        events.publish(
            "payout.released", channel=None, data={"transaction_id": "t", "seller_id": str(seller.pk), "amount": "1"}
        )
        raise Boom

    assert not Notification.objects.exists()
    assert push.outbox == []


def test_with_the_broker_down_the_request_succeeds_and_the_outbox_sends_later(
    auth_client, django_capture_on_commit_callbacks, settings
):
    from soukloop.celery import app
    from tests.messaging.factories import ConversationFactory

    conversation = ConversationFactory()
    _device(conversation.seller)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    previous_broker = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    drop_broker_connections(app)  # pooled connections to the old broker
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client(conversation.buyer).post(
                f"/api/v1/conversations/{conversation.pk}/messages/", {"content": "Still available?"}
            )
    finally:
        app.conf.task_always_eager = True
        app.conf.broker_url = previous_broker
        drop_broker_connections(app)
    # the buyer's message is sent; the seller's push waits in the outbox
    assert response.status_code == 201
    delivery = Delivery.objects.get(channel="push")
    assert delivery.status == "pending" and push.outbox == []
    assert Notification.objects.get(user=conversation.seller).body == "Still available?"

    # the broker is back: the outbox flush (beat, or the command) sends it, once
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=settings.NOTIFY_OUTBOX_GRACE_SECONDS + 1)):
        out = StringIO()
        call_command("flush_notifications", stdout=out)
        again = StringIO()
        call_command("flush_notifications", stdout=again)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert [message.body for message in push.outbox] == ["Still available?"]
    assert out.getvalue().strip() == "1 sent"
    assert again.getvalue().strip() == "nothing due"


class FlakyBackend(push.BasePushBackend):
    def send(self, message):
        raise ConnectionError("provider down")


def test_a_failing_provider_is_retried_with_back_off_then_dead_lettered(
    settings, django_capture_on_commit_callbacks, admin_client
):
    settings.PUSH_BACKEND = "tests.notifications.test_deliveries.FlakyBackend"
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_BACKOFF_SECONDS = 10
    user = UserFactory()
    _device(user)
    with django_capture_on_commit_callbacks(execute=True):
        (delivery_id,) = notify_users(user_ids=[user.pk], kind=Kind.MESSAGE, texts=lambda: ("t", "b"), data={})

    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    first_wait = delivery.not_before
    # not before the back-off is over
    assert delivery_attempt(delivery_id=delivery_id, now=first_wait - timedelta(seconds=1)).outcome == "held"
    second = delivery_attempt(delivery_id=delivery_id, now=first_wait)
    assert second.outcome == "retry"
    assert second.retry_at - first_wait == timedelta(seconds=20)  # doubled
    assert delivery_attempt(delivery_id=delivery_id, now=second.retry_at).outcome == "dead"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert delivery.last_error == "ConnectionError: provider down"
    # dead letters are listed in the admin, and a dead one is never sent again
    page = admin_client.get("/admin/notifications/delivery/?status__exact=dead")
    assert (
        page.status_code == 200 and str(delivery.pk)[:8] in page.content.decode()
    ) or "provider down" in page.content.decode()
    assert delivery_attempt(delivery_id=delivery_id).outcome == "skipped"


def test_quiet_hours_hold_pushes_until_morning_in_the_persons_time_zone(django_capture_on_commit_callbacks):
    user = UserFactory()
    _device(user)
    Preferences.objects.create(user=user, quiet_start=time(22, 0), quiet_end=time(7, 0), timezone="Asia/Dubai")
    night = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # 23:30 in Dubai

    with time_machine.travel(night, tick=False), django_capture_on_commit_callbacks(execute=True):
        (delivery_id,) = notify_users(user_ids=[user.pk], kind=Kind.MESSAGE, texts=lambda: ("t", "b"), data={})

    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == "pending" and push.outbox == []
    assert delivery.not_before == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 07:00 Dubai
    assert Notification.objects.get().in_inbox  # the inbox has it at once
    assert delivery_attempt(delivery_id=delivery_id, now=datetime(2026, 12, 4, 3, 0, tzinfo=UTC)).outcome == "sent"
    assert len(push.outbox) == 1


def test_a_followed_seller_going_live_reaches_every_follower_in_batches(settings, django_capture_on_commit_callbacks):
    from accounts.models import Follow
    from notifications import tasks

    settings.NOTIFY_FANOUT_BATCH = 40
    host = UserFactory()
    followers = UserFactory.create_batch(100)
    Follow.objects.bulk_create([Follow(follower=f, following=host) for f in followers])
    batches = []
    original = tasks.notify_followers.delay

    def counting_delay(*args):
        batches.append(len(args[0]))
        return original(*args)

    tasks.notify_followers.delay = counting_delay
    try:
        _publish(
            django_capture_on_commit_callbacks,
            "stream.status",
            stream_id="s-1",
            status="live",
            host_id=str(host.pk),
            host_name="omar",
            title="Sneaker drop",
        )
    finally:
        tasks.notify_followers.delay = original

    assert batches == [40, 40, 20]
    assert Notification.objects.filter(kind="followed_live").count() == 100
    assert set(Notification.objects.values_list("title", flat=True)) == {"omar is live"}
    # a reconnect of the same show is not news twice
    _publish(
        django_capture_on_commit_callbacks,
        "stream.status",
        stream_id="s-1",
        status="live",
        host_id=str(host.pk),
        host_name="omar",
        title="",
    )
    assert Notification.objects.filter(kind="followed_live").count() == 100


def test_an_offer_about_to_expire_is_announced_once_to_whoever_must_answer(django_capture_on_commit_callbacks):
    from django.utils import timezone

    from messaging.models import OfferStatus
    from notifications.tasks import offers_expiring_soon
    from tests.messaging.factories import OfferFactory

    pending = OfferFactory(expires_at=timezone.now() + timedelta(minutes=90))
    countered = OfferFactory(status=OfferStatus.COUNTERED, expires_at=timezone.now() + timedelta(minutes=30))
    OfferFactory(expires_at=timezone.now() + timedelta(hours=5))  # not yet

    with django_capture_on_commit_callbacks(execute=True):
        offers_expiring_soon()
        offers_expiring_soon()

    told = sorted((n.user_id, n.kind) for n in Notification.objects.all())
    assert told == sorted([(pending.seller_id, "offer_expiring"), (countered.buyer_id, "offer_expiring")])


def test_a_worker_finds_every_task_the_beat_schedule_names():
    """In a fresh process, as ``celery -A soukloop worker`` starts: the apps' ``tasks`` modules
    are discovered and every scheduled name is registered."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    code = (
        "import django, json; django.setup(); from soukloop.celery import app; "
        "app.loader.import_default_modules(); print(json.dumps(sorted(app.tasks)))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "soukloop.settings"},
    )
    registered = set(json.loads(result.stdout.strip().splitlines()[-1]))
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= registered, scheduled - registered


def test_each_claim_step_reaches_the_party_it_was_published_for(django_capture_on_commit_callbacks):
    buyer, seller = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for user in (buyer, seller):
            events.publish(
                "claim.updated",
                channel=f"user:{user.pk}",
                data={"claim_id": "c-1", "transaction_id": "t-1", "status": "escalated", "step": "escalated"},
            )
            # the same step twice (a retried command) is one notification
            events.publish(
                "claim.updated",
                channel=f"user:{user.pk}",
                data={"claim_id": "c-1", "transaction_id": "t-1", "status": "escalated", "step": "escalated"},
            )
    told = sorted((n.user_id, n.kind, n.body) for n in Notification.objects.all())
    expected = "The claim went to Souk Loop's moderators."
    assert told == sorted([(buyer.pk, "claim", expected), (seller.pk, "claim", expected)])


def test_a_published_review_tells_the_reviewed_person(django_capture_on_commit_callbacks):
    seller = UserFactory()
    _publish(
        django_capture_on_commit_callbacks,
        "review.published",
        review_id="r-1",
        reviewee_id=str(seller.pk),
        rating=5,
    )
    (note,) = Notification.objects.filter(user=seller)
    assert (note.kind, note.body) == ("review", "Someone reviewed you: 5 out of 5.")


def test_no_push_for_a_message_the_recipient_is_watching_arrive(auth_client, django_capture_on_commit_callbacks):
    from soukloop import presence
    from tests.messaging.factories import ConversationFactory

    conversation = ConversationFactory()
    _device(conversation.seller)
    presence.watching_mark(channel=f"conversation:{conversation.pk}", user_id=conversation.seller_id)
    url = f"/api/v1/conversations/{conversation.pk}/messages/"

    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client(conversation.buyer).post(url, {"content": "here now?"}).status_code == 201
    assert push.outbox == [] and not Notification.objects.exists()

    # they close the conversation: the next message pushes
    presence.watching_clear(channel=f"conversation:{conversation.pk}", user_id=conversation.seller_id)
    with django_capture_on_commit_callbacks(execute=True):
        auth_client(conversation.buyer).post(url, {"content": "hello?"})
    assert [message.body for message in push.outbox] == ["hello?"]


class WatchingBackend(push.BasePushBackend):
    """Records how many transactions were open on this thread while the provider answered."""

    depths: list[int] = []

    def send(self, message):
        from django.db import connection

        WatchingBackend.depths.append(len(connection.atomic_blocks))
        return "projects/soukloop/messages/1"


def _one_push(user):
    _device(user)
    (delivery_id,) = notify_users(user_ids=[user.pk], kind=Kind.MESSAGE, texts=lambda: ("t", "b"), data={})
    return delivery_id  # not sent: nothing ran its after-commit work


def test_no_transaction_is_open_while_the_provider_answers(settings):
    from django.db import connection

    settings.PUSH_BACKEND = "tests.notifications.test_deliveries.WatchingBackend"
    WatchingBackend.depths = []
    delivery_id = _one_push(UserFactory())
    depth = len(connection.atomic_blocks)  # the test's own transaction

    assert delivery_attempt(delivery_id=delivery_id).outcome == "sent"
    assert WatchingBackend.depths == [depth]


def test_a_delivery_being_sent_is_held_for_everyone_else_then_taken_over_if_its_worker_died(settings):
    from notifications.services import _delivery_claim

    settings.NOTIFY_SEND_LEASE_SECONDS = 120
    delivery_id = _one_push(UserFactory())
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    claimed = _delivery_claim(delivery_id=delivery_id, now=now)  # a worker took it... and died

    meanwhile = delivery_attempt(delivery_id=delivery_id, now=now + timedelta(seconds=60))
    assert (meanwhile.outcome, meanwhile.retry_at) == ("held", now + timedelta(seconds=120))
    assert push.outbox == []
    later = delivery_attempt(delivery_id=delivery_id, now=now + timedelta(seconds=120))
    assert later.outcome == "sent" and len(push.outbox) == 1
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("sent", claimed.attempts + 1)


def test_a_send_that_outlived_its_lease_does_not_overwrite_the_attempt_that_took_over(settings, caplog):
    from notifications.services import _delivery_claim, _delivery_record

    settings.NOTIFY_SEND_LEASE_SECONDS = 120
    delivery_id = _one_push(UserFactory())
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    slow = _delivery_claim(delivery_id=delivery_id, now=now)  # its provider hangs past the lease
    assert delivery_attempt(delivery_id=delivery_id, now=now + timedelta(seconds=121)).outcome == "sent"

    late = _delivery_record(slow, now=now + timedelta(seconds=130), error="TimeoutError: late")

    assert late.outcome == "skipped"
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.last_error, delivery.attempts) == ("sent", "", 2)
    assert "another attempt took it over" in caplog.text
