"""The fan-out hot path: one layer membership per process, frames handed to sockets directly."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer

from realtime.relay import Outbox, relay_for


class Member:
    def __init__(self) -> None:
        self.got: list[str] = []

    def relay_event(self, message: dict[str, Any]) -> None:
        self.got.append(message["text"])


def test_a_process_joins_the_layer_group_once_however_many_sockets_watch():
    async def scenario() -> tuple[list[Member], int, int]:
        layer = InMemoryChannelLayer()
        relay = relay_for(layer)
        members = [Member() for _ in range(50)]
        for member in members:
            await relay.join("stream:s-1", member)
        in_group = len(layer.groups["rt.stream.s-1"])
        await layer.group_send(
            "rt.stream.s-1", {"type": "realtime.event", "channel": "stream:s-1", "seq": 1, "text": "f1"}
        )
        await asyncio.sleep(0.05)
        for member in members[:49]:
            await relay.leave("stream:s-1", member)
        still = len(layer.groups.get("rt.stream.s-1", {}))
        await relay.leave("stream:s-1", members[49])
        assert "rt.stream.s-1" not in layer.groups  # the last one out leaves the group
        return members, in_group, still

    members, in_group, still = asyncio.run(scenario())
    assert in_group == 1 and still == 1
    assert all(member.got == ["f1"] for member in members)


def test_a_socket_that_stops_reading_holds_up_nobody_and_is_closed_past_its_limit():
    async def scenario() -> tuple[list[str], list[str], bool]:
        stuck = asyncio.Event()
        fast_sent: list[str] = []
        slow_sent: list[str] = []
        overflowed: list[bool] = []

        async def slow_send(text: str) -> None:
            await stuck.wait()  # a paused transport: never drains
            slow_sent.append(text)

        async def fast_send(text: str) -> None:
            fast_sent.append(text)

        slow = Outbox(slow_send, limit=3, overflow=lambda: overflowed.append(True))
        fast = Outbox(fast_send, limit=3, overflow=lambda: overflowed.append(False))
        for i in range(5):
            slow.put(f"f{i}")
            fast.put(f"f{i}")
            await asyncio.sleep(0)
        await fast.flush()
        return fast_sent, slow_sent, overflowed == [True] and slow.closed

    fast_sent, slow_sent, slow_closed = asyncio.run(scenario())
    assert fast_sent == ["f0", "f1", "f2", "f3", "f4"]  # in order, not held up by the slow one
    assert slow_sent == []
    assert slow_closed
