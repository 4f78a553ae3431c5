"""One layer subscription per process per channel, forwarding to that process's sockets.

A Channels group with 2,000 member sockets makes every event 2,000 queue wake-ups, each through
Channels' dispatch loop (``await_many_dispatch``: an ``asyncio.wait`` and a new task per
message per socket): half the event loop's time in a profile of a 2,000-viewer room. Here the
process joins each channel's layer group once, with one relay channel, and hands the frame to
its local sockets directly. Cross-process fan-out is still the layer's (the Redis pub/sub layer
delivers a group message once per process); in-process it is a loop over a set.

Each socket writes through its own ``Outbox``, so a client that stops reading (its transport
paused by back-pressure) holds up nobody but itself; past ``REALTIME_OUTBOX_FRAMES`` queued frames
it is closed (1013, try again later) instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

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
            for member in tuple(self.members.get(message.get("channel", ""), ())):
                try:
                    member.relay_event(message)
                except Exception:
                    logger.exception("realtime relay: a socket refused a frame")


_relays: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay]] = (
    weakref.WeakKeyDictionary()
)


def relay_for(layer: Any) -> Relay:
    """This event loop's relay over ``layer`` (one per process in production)."""
    loop = asyncio.get_running_loop()
    per_loop = _relays.setdefault(layer, weakref.WeakKeyDictionary())
    relay = per_loop.get(loop)
    if relay is None:
        relay = per_loop[loop] = Relay(layer)
    return relay
