from __future__ import annotations

import pytest
from django.db import transaction

from soukloop import events


@pytest.fixture
def received():
    got: list[events.Event] = []
    events.register_sink("test", got.append)
    yield got
    events.unregister_sink("test")


@pytest.mark.django_db(transaction=True)
def test_an_event_is_delivered_after_commit_in_publish_order(received):
    with transaction.atomic():
        events.publish("offer.updated", channel="user:1", data={"status": "accepted"})
        events.publish("message.created", channel="conversation:9", data={"id": "m1"})
        assert received == []
    assert [(e.type, e.channel, dict(e.data)) for e in received] == [
        ("offer.updated", "user:1", {"status": "accepted"}),
        ("message.created", "conversation:9", {"id": "m1"}),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_publishes_nothing(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("offer.updated", channel="user:1", data={})
        raise RuntimeError("boom")
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_sink_does_not_stop_the_others(received, caplog):
    def broken(event):
        raise ValueError("socket layer down")

    events.register_sink("broken", broken)
    try:
        events.publish("stream.status", channel="stream:1", data={"status": "live"})
    finally:
        events.unregister_sink("broken")
    assert [e.type for e in received] == ["stream.status"]
    assert "event sink failed" in caplog.text
