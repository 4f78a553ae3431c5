"""Events sent from a worker thread are queued to the socket loop and written in order; without
a bound loop they are sent at once (realtime/sender.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.conf import settings

from realtime import sender


class _Layer:
    def __init__(self, slow: float = 0.0) -> None:
        self.sent: list[tuple[str, int]] = []
        self.slow = slow

    async def group_send(self, group: str, message: dict) -> None:
        if self.slow:
            await asyncio.sleep(self.slow)
        if message.get("fail"):
            raise ConnectionError("redis away")
        self.sent.append((group, message["n"]))


def test_a_thread_hands_its_sends_to_the_bound_loop_and_does_not_wait():
    layer = _Layer(slow=0.01)

    async def scenario() -> tuple[float, list]:
        sender.bind(layer)
        took: list[float] = []

        def worker() -> None:  # a database thread publishing after its commit
            import time

            start = time.monotonic()
            for n in range(20):
                sender.group_send(layer, "rt.stream.s1", {"n": n, "fail": n == 3})
            took.append(time.monotonic() - start)

        await asyncio.to_thread(worker)
        await sender.drained()
        return took[0], list(layer.sent)

    took, sent = asyncio.run(scenario())
    assert took < 0.05  # 20 sends of 10 ms each: the thread did not wait for them
    assert sent == [("rt.stream.s1", n) for n in range(20) if n != 3]  # in order; a failure is skipped


def test_without_a_running_bound_loop_a_send_is_made_at_once():
    layer = _Layer()
    done = threading.Event()

    def elsewhere() -> None:  # e.g. a Celery worker: no socket loop in this process
        sender.group_send(layer, "rt.user.u1", {"n": 1})
        done.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(5)
    assert done.is_set() and layer.sent == [("rt.user.u1", 1)]


def test_while_the_layer_stalls_the_queue_keeps_the_newest_sends_up_to_its_bound(settings, caplog):
    settings.REALTIME_SENDER_QUEUE = 5
    layer = _Layer(slow=0.005)

    async def scenario() -> list:
        sender.bind(layer)

        def worker() -> None:
            for n in range(40):
                sender.group_send(layer, "rt.stream.s2", {"n": n})

        await asyncio.to_thread(worker)
        await sender.drained()
        return [n for _group, n in layer.sent]

    sent = asyncio.run(scenario())
    assert sent[-5:] == [35, 36, 37, 38, 39]  # the newest are never the ones dropped
    assert len(sent) < 40 and sent == sorted(sent)  # some oldest gave way; order kept
    assert "send queue is full" in caplog.text


needs_redis_layer = pytest.mark.skipif(
    "RedisPubSub" not in settings.CHANNEL_LAYERS["default"]["BACKEND"],
    reason="the pipelined sends are the Redis pub/sub layer's (REDIS_URL=...)",
)


@needs_redis_layer
def test_queued_sends_reach_the_redis_layers_subscribers_in_order_as_one_pipeline():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def scenario() -> list:
        # the installed channels_redis is one whose internals the pipeline knows: were it not,
        # every send would quietly go one round trip at a time again
        assert sender._pubsub_shards(layer, [("rt.stream.p1", {"n": 0})]) is not None
        channel = await layer.new_channel()
        await layer.group_add("rt.stream.p1", channel)
        await layer.group_add("rt.user.p2", channel)
        items = [(("rt.stream.p1", "rt.user.p2")[n % 2], {"type": "x", "n": n}) for n in range(50)]
        await sender.send_many(layer, items)
        got = [(await asyncio.wait_for(layer.receive(channel), 2))["n"] for _ in range(50)]
        await layer.flush()
        return got

    assert asyncio.run(scenario()) == list(range(50))


@needs_redis_layer
def test_a_pipeline_that_redis_refuses_is_logged_and_the_loop_goes_on(caplog, monkeypatch):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def scenario() -> None:
        inner = layer._get_layer()
        shard = inner._get_shard(inner._get_group_channel_name("rt.stream.p3"))
        shard._ensure_redis()

        async def refused(self, *args, **kwargs):
            raise ConnectionError("redis away")

        monkeypatch.setattr(type(shard._redis.pipeline()), "execute", refused)
        await sender.send_many(layer, [("rt.stream.p3", {"n": 1}), ("rt.stream.p3", {"n": 2})])
        await layer.flush()

    asyncio.run(scenario())
    assert "pipeline of group sends failed" in caplog.text


def test_a_batch_that_cannot_be_sent_does_not_stop_the_sender(monkeypatch, caplog):
    """Whatever a batch raises (a message the layer cannot serialise), the one task writing the
    loop's sends lives on: later events still reach their sockets."""
    layer = _Layer()
    real = sender.send_many

    async def first_fails(layer_, items):
        if any(message.get("n") == 0 for _group, message in items):
            raise TypeError("can not serialize 'object' object")
        await real(layer_, items)

    monkeypatch.setattr(sender, "send_many", first_fails)

    async def scenario() -> list:
        sender.bind(layer)
        sender.group_send(layer, "rt.stream.s3", {"n": 0})
        await sender.drained()
        sender.group_send(layer, "rt.stream.s3", {"n": 1})
        await asyncio.wait_for(sender.drained(), 2)  # a dead sender would never drain it
        return list(layer.sent)

    assert asyncio.run(scenario()) == [("rt.stream.s3", 1)]
    assert "a batch of group sends failed" in caplog.text
