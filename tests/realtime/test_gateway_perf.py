"""The fan-out hot path: one forwarded frame per socket, no thread hop."""

from __future__ import annotations

import asyncio


def test_a_fanned_out_event_is_forwarded_without_a_thread_hop(monkeypatch):
    from realtime.consumers import GatewayConsumer

    hops: list[int] = []

    async def close_old_connections_on_a_thread() -> None:
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", close_old_connections_on_a_thread)
    consumer = GatewayConsumer()
    consumer.subscriptions = {"stream:s-1": "stream:s-1"}
    consumer.replayed_upto = {}
    sent: list[str] = []

    async def send(text_data: str | None = None, **_: object) -> None:
        sent.append(text_data or "")

    consumer.send = send  # type: ignore[method-assign]
    frame = '{"type": "stream.chat"}'
    asyncio.run(consumer.dispatch({"type": "realtime.event", "channel": "stream:s-1", "seq": 1, "text": frame}))
    # a frame for a channel this socket left is dropped, also without a hop
    asyncio.run(consumer.dispatch({"type": "realtime.event", "channel": "stream:other", "seq": 2, "text": "x"}))

    assert sent == [frame]
    assert hops == []
