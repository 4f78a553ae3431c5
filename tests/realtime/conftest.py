from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from accounts.models import User
from realtime.tickets import ticket_issue
from streams.models import Stream, StreamStatus
from tests.streams.factories import HostFactory, StreamFactory


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets its own layer (the in-memory one, or the Redis one on a fresh loop)."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async scenario from a sync test: DB calls inside it (database_sync_to_async)
    come back to this thread, so they see the test's database."""
    return async_to_sync(scenario)()


to_async = database_sync_to_async


class Socket:
    """A client of /ws/v1/ through Channels' WebsocketCommunicator."""

    def __init__(self, ticket: str) -> None:
        from soukloop.asgi import application

        self.comm = WebsocketCommunicator(application, f"/ws/v1/?ticket={ticket}")

    async def open(self) -> Socket:
        connected, _sub = await self.comm.connect()
        assert connected
        return self

    async def send(self, **frame: Any) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def recv(self, timeout: float = 2) -> dict:
        output = await self.comm.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def recv_type(self, frame_type: str, timeout: float = 2) -> dict:
        """The next frame of ``frame_type``, skipping others (e.g. stream.viewers)."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == frame_type:
                return frame

    async def close_code(self, timeout: float = 2) -> int:
        while True:
            output = await self.comm.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code")

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout)

    async def subscribe(self, channel: str, **extra: Any) -> dict:
        await self.send(type="subscribe", channel=channel, **extra)
        return await self.recv()

    async def close(self) -> None:
        await self.comm.disconnect()
        await asyncio.sleep(0)


async def connect(user: User | None) -> Socket:
    ticket = await to_async(ticket_issue)(user=user)
    return await Socket(ticket.ticket).open()


@pytest.fixture
def live_stream(db) -> Stream:
    return StreamFactory(user=HostFactory(username="host_hamdan"), status=StreamStatus.LIVE)


@pytest.fixture
def host(db) -> User:
    return HostFactory(username="host_noura")
