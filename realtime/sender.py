"""Layer group sends from synchronous code, without making the calling thread wait.

Committed events are delivered from a worker thread: a view's, or a socket's database call
(``database_sync_to_async``; in a socket process every socket's database work shares that one
thread). ``async_to_sync(layer.group_send)`` there hands the send to the server's event loop
and blocks the thread until the loop has run it and Redis has answered: on a busy live lot
that wait was two thirds of a bid's time on the thread (bench/auctions.py, profiled).

So a process whose event loop serves sockets binds that loop here (``bind``, from the relay)
and a send from another thread is queued to it and written by one task, in the order queued;
the caller goes on at once. The frame is already numbered and kept in the backlog when it is
queued, so a send lost with the process is recovered by the client's replay. Where no loop is
bound and running (Celery workers, management commands, tests without a server), the send is
made at once, as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels_redis.pubsub import RedisPubSubChannelLayer

logger = logging.getLogger(__name__)


def _queue_limit() -> int:
    from django.conf import settings

    return max(1, int(getattr(settings, "REALTIME_SENDER_QUEUE", 50_000)))


@dataclass
class _Bound:
    loop: asyncio.AbstractEventLoop
    layer: Any
    # Bounded: while Redis stalls, sends wait here; past the bound the oldest are dropped (each
    # is already numbered in its channel's backlog, so a client replays it when it reconnects
    # with its last event id) rather than the process's memory growing without end.
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=_queue_limit())
    )
    task: asyncio.Task[None] | None = None
    dropped: int = 0


_bound: _Bound | None = None
_bind_lock = threading.Lock()


def bind(layer: Any) -> None:
    """Send ``layer``'s group messages from the running loop (call on that loop, once per loop)."""
    global _bound
    loop = asyncio.get_running_loop()
    with _bind_lock:
        if _bound is not None and _bound.loop is loop and _bound.layer is layer:
            return
        bound = _Bound(loop=loop, layer=layer)
        bound.task = loop.create_task(_drain(bound))
        _bound = bound


async def _drain(bound: _Bound) -> None:
    while True:
        items = [await bound.queue.get()]
        while len(items) < SEND_BATCH:  # what queued meanwhile goes with it
            try:
                items.append(bound.queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        try:
            await send_many(bound.layer, items)
        except asyncio.CancelledError:
            raise
        except Exception:  # e.g. a message the layer cannot serialise: this task must live on
            logger.exception("realtime: a batch of group sends failed", extra={"sends": len(items)})
        finally:
            for _item in items:
                bound.queue.task_done()


SEND_BATCH = 500  # queued sends written to the layer together, at most


async def send_many(layer: Any, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Send ``items`` (group, message) to the layer in order.

    On the Redis pub/sub layer they go as one pipeline of PUBLISHes per shard: one write and
    one read instead of a round trip each (a live lot's batch publishes an ``auction.outbid`` per
    bidder who lost the lead, and one command at a time the socket loop spent an eighth of its
    time in the writes; docs/realtime.md). Another layer gets them one by one. A send that fails
    is logged and skipped: its frame is in the channel's backlog, and a reconnecting client
    replays it."""
    shards = _pubsub_shards(layer, items)
    if shards is None:
        for group, message in items:
            try:
                await layer.group_send(group, message)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away
                logger.warning("realtime: a group send failed", extra={"group": group})
        return
    for shard, published in shards.items():
        try:
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for name, data in published:
                    pipe.publish(name, data)
                await pipe.execute()
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis away
            logger.warning("realtime: a pipeline of group sends failed", extra={"sends": len(published)})


def _pubsub_shards(layer: Any, items: list[tuple[str, dict[str, Any]]]) -> dict[Any, list[tuple[str, bytes]]] | None:
    """``items`` as channels_redis's pub/sub layer would publish them, by shard (its group send is
    a PUBLISH of the serialised message to the group's channel on the group's shard); None for
    any other layer, or a version whose internals differ (then each goes through group_send)."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    inner = layer._get_layer()
    if not all(hasattr(inner, attr) for attr in ("_get_group_channel_name", "_get_shard")):
        return None
    shards: dict[Any, list[tuple[str, bytes]]] = {}
    for group, message in items:
        name = inner._get_group_channel_name(group)
        shard = inner._get_shard(name)
        if shard not in shards:
            if not all(hasattr(shard, attr) for attr in ("_lock", "_ensure_redis", "_redis")):
                return None
            shards[shard] = []
        shards[shard].append((name, layer.serialize(message)))
    return shards


def _enqueue(bound: _Bound, item: tuple[str, dict[str, Any]]) -> None:
    """Queue a send on the loop; when the queue is full, the oldest waiting send gives way."""
    while True:
        try:
            bound.queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            bound.queue.get_nowait()
            bound.queue.task_done()
            bound.dropped += 1
            if bound.dropped == 1 or bound.dropped % 1000 == 0:
                logger.warning(
                    "realtime: the send queue is full; oldest sends dropped", extra={"dropped": bound.dropped}
                )


def group_send(layer: Any, group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group``: queued to the bound loop if there is one, else at once."""
    bound = _bound
    if bound is not None and bound.layer is layer and bound.loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is bound.loop:
                _enqueue(bound, (group, message))
            else:
                bound.loop.call_soon_threadsafe(_enqueue, bound, (group, message))
            return
        except RuntimeError:  # the loop closed since the check: send it here
            pass
    async_to_sync(layer.group_send)(group, message)


async def drained() -> None:
    """Wait until every queued send of this loop has been handed to the layer (tests)."""
    bound = _bound
    if bound is None or bound.loop is not asyncio.get_running_loop():
        return
    await bound.queue.join()
