"""A real Celery worker over Redis: what the eager tests do in-process, across the broker."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from notifications import push
from notifications.models import Delivery, Device, Kind
from notifications.services import notify_users
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    """A worker thread on a queue of this test's own, over the suite's Redis."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL) for the broker")
    from celery.contrib.testing.worker import start_worker

    import notifications.tasks  # noqa: F401  (registered before the worker starts)
    from soukloop.celery import app

    app.loader.import_default_modules()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL, task_default_queue=queue)
    app.close()
    try:
        with start_worker(
            app, pool="solo", concurrency=1, perform_ping_check=False, queues=[queue], shutdown_timeout=10
        ):
            yield
    finally:
        app.conf.update(saved)
        app.close()
        app.set_current()  # the test worker leaves its own app current; shared tasks resolve through it
        app.set_default()


def _wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_notification_is_delivered_by_a_worker_after_commit(worker):
    omar = UserFactory()
    Device.objects.create(user=omar, platform="android", token="omar-worker")
    push.outbox.clear()

    with transaction.atomic():
        (delivery_id,) = notify_users(
            user_ids=[omar.pk], kind=Kind.MESSAGE, texts=lambda: ("layla", "over the broker"), data={}
        )
        time.sleep(0.3)
        # nothing leaves before the commit
        assert push.outbox == []

    assert _wait_for(lambda: Delivery.objects.get(pk=delivery_id).status == "sent")
    assert [(m.token, m.body) for m in push.outbox] == [("omar-worker", "over the broker")]
