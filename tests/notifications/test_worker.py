"""A real Celery worker process over Redis: what the eager tests do in-process, across the broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from notifications.models import Delivery, Device, Kind
from notifications.services import notify_users
from tests.conftest import drop_broker_connections
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path):
    """``celery -A soukloop worker`` on a queue of this test's own, against the test database;
    pushes land as files under ``tmp_path``."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL) for the broker")
    from soukloop.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "PUSH_BACKEND": "notifications.push.FilePushBackend",
        "PUSH_FILE_PATH": str(tmp_path / "push"),
    }
    process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [sys.executable, "-m", "celery", "-A", "soukloop", "worker", "--pool=solo", "-Q", queue, "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
    )
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL, task_default_queue=queue)
    drop_broker_connections(app)
    try:
        yield tmp_path / "push"
    finally:
        app.conf.update(saved)
        drop_broker_connections(app)
        process.terminate()
        process.wait(timeout=30)


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_notification_is_delivered_by_a_worker_after_commit(worker):
    omar = UserFactory()
    Device.objects.create(user=omar, platform="android", token="omar-worker")

    with transaction.atomic():
        (delivery_id,) = notify_users(
            user_ids=[omar.pk], kind=Kind.MESSAGE, texts=lambda: ("layla", "over the broker"), data={}
        )
        time.sleep(0.5)
        # nothing is enqueued before the commit
        assert not worker.exists()

    assert _wait_for(lambda: Delivery.objects.get(pk=delivery_id).status == "sent")
    (pushed,) = [json.loads(path.read_text()) for path in worker.glob("*.json")]
    assert (pushed["token"], pushed["body"]) == ("omar-worker", "over the broker")
