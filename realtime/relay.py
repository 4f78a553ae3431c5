"""One layer subscription per process per channel, forwarding to that process's sockets.

A Channels group with 2,000 member sockets makes every event 2,000 queue wake-ups, each through
Channels' dispatch loop (``await_many_dispatch``: an ``asyncio.wait`` and a new task per
message per socket): half the event loop's time in a profile of a 2,000-viewer room. Here the
process joins each channel's layer group once, with one relay channel, and hands the frame to
its local sockets directly. Cross-process fan-out is still the layer's (the Redis pub/sub layer
delivers a group message once per process); in-process it is a loop over a set.

Events marked ``coalesce`` (a live lot's ``auction.bid``: the price now) are sent at once when
the key was quiet, then at most one per ``REALTIME_COALESCE_MS`` per key, the latest, on the
trailing edge: a 250-bids-a-second lot costs each viewer a few frames a second, not 250, and a
viewer always ends on the last price. Any other event of the channel first flushes what is
held, so order within a channel is kept (the hammer never overtakes the last bid).

Each socket writes through its own ``Outbox``, so a client that stops reading (its transport
paused by back-pressure) holds up nobody but itself; past ``REALTIME_OUTBOX_FRAMES`` queued frames
it is closed (1013, try again later) instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from realtime import sender
from realtime.fanout import group_for

logger = logging.getLogger(__name__)


class Member(Protocol):
    def relay_event(self, message: dict[str, Any]) -> None: ...


class Outbox:
    """Frames for one socket, written in order by at most one task at a time."""

    def __init__(self, send: Callable[[str], Awaitable[None]], *, limit: int, overflow: Callable[[], None]) -> None:
        self._send = send
        self._limit = limit
        self._overflow = overflow
        self._frames: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    def put(self, text: str) -> None:
        if self.closed:
            return
        if len(self._frames) >= self._limit:
            self.closed = True
            self._frames.clear()
            self._overflow()
            return
        self._frames.append(text)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._frames and not self.closed:
                await self._send(self._frames.popleft())
        except Exception:  # the client went away mid-write: its disconnect cleans up
            self.closed = True
            self._frames.clear()
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Wait until what is queued now has been written (tests, orderly close)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)


@dataclass
class Placed:
    """A batch's answers, per item (its answer, the lot's floor after it or None), and what to
    run once they are answered, before the lot's next batch goes (its events' delivery)."""

    answers: list[tuple[Any, Decimal | None]]
    then: Callable[[], Awaitable[None]] | None = None


# place(lot id, items) -> the answers (or ``Placed``: the answers and what to run after them).
PlaceBids = Callable[[str, list[Any]], Awaitable["list[tuple[Any, Decimal | None]] | Placed"]]
BID_BATCH = 200  # bids of one lot sent to the database together, at most


class BidQueue:
    """A lot's socket bids waiting in this process, and whether a batch is at the database."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Decimal, Any, asyncio.Future[tuple[str, Any]]]] = []
        self.running = False


def _answer(future: asyncio.Future[tuple[str, Any]], answer: tuple[str, Any]) -> None:
    if not future.done():  # the socket went away while it waited
        future.set_result(answer)


class Relay:
    """The process's members per channel (``stream:<id>``, ...), and the one task receiving the
    events of all of them from the layer."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.members: dict[str, set[Member]] = {}
        self.channel_name: str | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._later: set[str] = set()
        self.coalesce_seconds = 0.2
        self._sent_at: dict[str, float] = {}  # coalesce key -> when its last frame went out
        self._held: dict[str, dict[str, Any]] = {}  # coalesce key -> the latest frame held back
        self._timers: set[str] = set()  # coalesce keys with a release pending
        # Per live lot, the lowest bid it could take at the last bid this process heard of.
        # Prices only rise, so a bid under it is too low whatever happened since.
        self._floors: dict[str, Decimal] = {}
        # Per coalesce key, the newest ``order`` sent or held (realtime/fanout.py ``_order``).
        self._order: dict[str, float] = {}
        # Per live lot, the socket bids waiting for the lot's next batch (``bid``).
        self._bids: dict[str, BidQueue] = {}

    def once_later(self, key: str, delay: float, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` in ``delay`` seconds unless work under ``key`` is already waiting
        (one per key per process: a room's trailing viewer count, however many joins)."""
        if key in self._later:
            return
        self._later.add(key)
        loop = asyncio.get_running_loop()

        async def run() -> None:
            self._later.discard(key)
            try:
                await work()
            except Exception:
                logger.warning("realtime relay: delayed work %s failed", key)

        loop.call_later(delay, lambda: loop.create_task(run()))

    async def join(self, channel: str, member: Member) -> None:
        async with self._lock:
            if self.channel_name is None:
                self.channel_name = await self.layer.new_channel(prefix="rt-relay.")
            if channel not in self.members:
                await self.layer.group_add(group_for(channel), self.channel_name)
                self.members[channel] = set()
            self.members[channel].add(member)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._receive())

    async def leave(self, channel: str, member: Member) -> None:
        async with self._lock:
            members = self.members.get(channel)
            if members is None or member not in members:
                return
            members.discard(member)
            if not members:
                del self.members[channel]
                if self.channel_name is not None:
                    await self.layer.group_discard(group_for(channel), self.channel_name)

    async def _receive(self) -> None:
        channel_name = self.channel_name or ""  # set by the join that started this task
        while True:
            try:
                message = await self.layer.receive(channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer lost Redis: it reconnects; keep listening
                logger.warning("realtime relay: layer receive failed, retrying")
                await asyncio.sleep(0.5)
                continue
            floor = message.get("floor")
            if floor:
                self._raise_floor(floor[0], Decimal(floor[1]))
            key = message.get("coalesce")
            if key:
                self._coalesce(key, message)
                continue
            self._flush_channel(message.get("channel", ""))
            self._deliver(message)

    def _raise_floor(self, auction_id: str, minimum: Decimal) -> None:
        if len(self._floors) > 10_000:  # lots long over: forget the oldest half
            for stale in list(self._floors)[:5_000]:
                del self._floors[stale]
        if minimum > self._floors.get(auction_id, Decimal(0)):
            self._floors[auction_id] = minimum

    async def bid(self, auction_id: str, amount: Decimal, item: Any, place: PlaceBids) -> tuple[str, Any]:
        """A socket's bid on ``auction_id``: ``("too_low", floor)`` when it is under the lot's
        floor by the time its batch goes, else ``("answer", what place answered for it)``.

        One batch per lot per process is at the database at a time; the bids that arrive
        meanwhile wait and go together in the next (``place``: ``auctions.services.place_bids``
        on a worker thread, one row lock and one round of writes for all of them). Before a
        batch goes, its bids under the floor the last batch left are answered here: of twenty
        sockets bidding the same amount, one reaches the database."""
        queue = self._bids.get(auction_id)
        if queue is None:
            if len(self._bids) > 10_000:  # lots long over: forget the idle ones
                self._bids = {k: q for k, q in self._bids.items() if q.running}
            queue = self._bids[auction_id] = BidQueue()
        future: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
        queue.waiting.append((amount, item, future))
        if not queue.running:
            queue.running = True
            asyncio.get_running_loop().create_task(self._run_bids(auction_id, queue, place))
        return await future

    async def _run_bids(self, auction_id: str, queue: BidQueue, place: PlaceBids) -> None:
        try:
            while queue.waiting:
                batch, queue.waiting = queue.waiting[:BID_BATCH], queue.waiting[BID_BATCH:]
                floor = self._floors.get(auction_id)
                going = []
                for amount, item, future in batch:
                    if floor is not None and amount < floor:
                        _answer(future, ("too_low", floor))
                    else:
                        going.append((item, future))
                if not going:
                    continue
                try:
                    result = await place(auction_id, [item for item, _f in going])
                except Exception as error:  # the database or the thread failed: each bid hears it
                    for _item, future in going:
                        if not future.done():
                            future.set_exception(error)
                    continue
                placed = result if isinstance(result, Placed) else Placed(result)
                for (_item, future), (answer, minimum) in zip(going, placed.answers, strict=True):
                    if minimum is not None:
                        self._raise_floor(auction_id, minimum)
                    _answer(future, ("answer", answer))
                if placed.then is not None:
                    # The bidders are answered while this runs; the lot's next batch waits for it,
                    # so a process delivers its batches' events in the order they committed.
                    try:
                        await placed.then()
                    except Exception:
                        logger.exception("realtime relay: a batch's after-answer step failed")
        finally:
            queue.running = False

    def bid_floor(self, auction_id: str) -> Decimal | None:
        """The lowest bid ``auction_id`` could take when this process last heard of it, or None."""
        return self._floors.get(auction_id)

    def _deliver(self, message: dict[str, Any]) -> None:
        for member in tuple(self.members.get(message.get("channel", ""), ())):
            try:
                member.relay_event(message)
            except Exception:
                logger.exception("realtime relay: a socket refused a frame")

    def _coalesce(self, key: str, message: dict[str, Any]) -> None:
        now = time.monotonic()
        if len(self._sent_at) > 10_000:  # keys of lots long quiet (each process sees every lot)
            self._sent_at = {k: t for k, t in self._sent_at.items() if now - t < self.coalesce_seconds}
            self._order = {k: o for k, o in self._order.items() if k in self._sent_at}
        order = message.get("order")
        if order is not None:  # a lot state older than one sent or held: drop it, never show it last
            if order <= self._order.get(key, float("-inf")):
                return
            self._order[key] = order
        sent = self._sent_at.get(key)
        if sent is None or now - sent >= self.coalesce_seconds:
            # A busy loop runs the window's timer late: what it holds is older than this frame
            # and must not follow it out.
            self._held.pop(key, None)
            self._sent_at[key] = now
            self._deliver(message)
            return
        self._held[key] = message
        if key not in self._timers:
            self._timers.add(key)
            asyncio.get_running_loop().call_later(sent + self.coalesce_seconds - now, self._release, key)

    def _release(self, key: str) -> None:
        self._timers.discard(key)
        message = self._held.pop(key, None)
        if message is None:
            sent = self._sent_at.get(key)
            now = time.monotonic()
            if sent is not None and now - sent < self.coalesce_seconds:  # one went out at once since
                self._timers.add(key)
                asyncio.get_running_loop().call_later(sent + self.coalesce_seconds - now, self._release, key)
                return
            self._sent_at.pop(key, None)  # quiet since: the next one goes out at once
            return
        self._sent_at[key] = time.monotonic()
        self._deliver(message)
        self._timers.add(key)
        asyncio.get_running_loop().call_later(self.coalesce_seconds, self._release, key)

    def _flush_channel(self, channel: str) -> None:
        """Send what is held for ``channel`` before another of its events (order is kept)."""
        for key in [k for k, m in self._held.items() if m.get("channel") == channel]:
            message = self._held.pop(key)
            self._sent_at[key] = time.monotonic()
            self._deliver(message)


_relays: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay]] = (
    weakref.WeakKeyDictionary()
)


def relay_for(layer: Any) -> Relay:
    """This event loop's relay over ``layer`` (one per process in production)."""
    loop = asyncio.get_running_loop()
    per_loop = _relays.setdefault(layer, weakref.WeakKeyDictionary())
    relay = per_loop.get(loop)
    if relay is None:
        from django.conf import settings

        relay = per_loop[loop] = Relay(layer)
        relay.coalesce_seconds = settings.REALTIME_COALESCE_MS / 1000
        sender.bind(layer)  # this loop serves sockets: events are sent from it (realtime/sender.py)
    return relay
