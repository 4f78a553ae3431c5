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


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_delivered_after_commit_in_order_as_one_batch_where_a_sink_takes_batches(received):
    batches: list[list[events.Event]] = []
    events.register_sink("batched", lambda event: batches.append([event]), many=batches.append)
    try:
        with transaction.atomic():
            events.publish_many(
                [
                    ("auction.bid", "stream:1", {"amount": "60"}),
                    ("auction.outbid", "user:2", {"amount": "60"}),
                    ("auction.outbid", "user:3", {"amount": "60"}),
                ]
            )
            assert received == [] and batches == []
    finally:
        events.unregister_sink("batched")
    # a sink without a batch form gets them one by one, in order
    assert [(e.type, e.channel) for e in received] == [
        ("auction.bid", "stream:1"),
        ("auction.outbid", "user:2"),
        ("auction.outbid", "user:3"),
    ]
    # one that takes batches gets them at once
    assert [[e.channel for e in batch] for batch in batches] == [["stream:1", "user:2", "user:3"]]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_batch_publishes_nothing(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish_many([("auction.bid", "stream:1", {})])
        raise RuntimeError("boom")
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_sink_does_not_stop_the_others(received, caplog):
    def broken(batch):
        raise ValueError("redis away")

    events.register_sink("broken", lambda event: None, many=broken)
    try:
        events.publish_many([("auction.bid", "stream:1", {}), ("auction.outbid", "user:2", {})])
    finally:
        events.unregister_sink("broken")
    assert [e.type for e in received] == ["auction.bid", "auction.outbid"]
    assert "event sink failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_held_deliveries_wait_for_the_caller_and_keep_their_order(received):
    with events.deliveries_held() as kept:
        with transaction.atomic():
            events.publish("auction.bid", channel="stream:1", data={"n": 1})
            events.publish_many([("auction.bid", "stream:1", {"n": 2}), ("auction.outbid", "user:7", {"n": 3})])
        with pytest.raises(RuntimeError), transaction.atomic():
            events.publish("auction.bid", channel="stream:1", data={"n": 99})
            raise RuntimeError("rolled back")
        assert received == []  # committed, but held
    assert received == []  # still held after the block: the caller delivers
    events.deliver_held(kept)
    assert [e.data["n"] for e in received] == [1, 2, 3]  # in order; the rolled-back one never
    with transaction.atomic():  # outside the block: at commit, as ever
        events.publish("auction.bid", channel="stream:1", data={"n": 4})
    assert [e.data["n"] for e in received] == [1, 2, 3, 4]
