"""The push hook: one notify() function, backends chosen in settings."""

from __future__ import annotations

import json
import logging

import pytest

from messaging import push

pytestmark = pytest.mark.django_db


def test_the_file_backend_writes_one_json_file_per_notification(settings, tmp_path):
    settings.PUSH_BACKEND = "messaging.push.FilePushBackend"
    settings.PUSH_FILE_PATH = str(tmp_path / "push")

    push.notify(user_id="u-1", kind="message", title="layla", body="Hi", data={"conversation_id": "c-1"})
    push.notify(user_id="u-2", kind="offer", title="omar", body="Counter-offer: AED 130.00")

    files = sorted((tmp_path / "push").glob("*.json"))
    assert len(files) == 2
    payloads = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert {p["user_id"] for p in payloads} == {"u-1", "u-2"}
    assert {"user_id": "u-1", "kind": "message", "title": "layla", "body": "Hi"}.items() <= next(
        p for p in payloads if p["user_id"] == "u-1"
    ).items()


def test_a_failing_backend_never_breaks_the_caller_and_logs_no_content(settings, caplog):
    settings.PUSH_BACKEND = "tests.messaging.test_push.BrokenBackend"

    with caplog.at_level(logging.ERROR, logger="messaging.push"):
        push.notify(user_id="u-1", kind="message", title="layla", body="my secret address")

    assert "push notification failed" in caplog.text
    assert "secret" not in caplog.text


def test_previews_are_single_line_and_short():
    assert push.preview("a\n b   c") == "a b c"
    assert len(push.preview("x" * 500)) == push.PREVIEW_CHARS


class BrokenBackend(push.BasePushBackend):
    def send(self, notification):
        raise ConnectionError("provider down")


def test_nothing_is_pushed_when_the_transaction_rolls_back(conversation, buyer, django_capture_on_commit_callbacks):
    from django.db import transaction

    from messaging.services import message_send

    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom), transaction.atomic():
        message_send(conversation=conversation, sender=buyer, message_type="text", content="hello")
        raise Boom

    assert push.outbox == []
