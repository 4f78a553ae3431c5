"""One live-show chat exchange over real sockets: uvicorn serving soukloop.asgi on a free
loopback port (in a thread, so it shares the test database) and the ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn
import websockets
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from soukloop.workers import UvicornWorker
from tests.concurrency import CONNECTION_HUNGRY

pytestmark = [pytest.mark.django_db(transaction=True), CONNECTION_HUNGRY]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_url():
    # The server's threads open their own connections: closed after each request/call, so
    # none outlives the test (PostgreSQL then drops the test database cleanly).
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    port = _free_port()
    # The WebSocket settings of the production worker class (soukloop/workers.py).
    served = {key: UvicornWorker.CONFIG_KWARGS[key] for key in ("ws", "ws_per_message_deflate")}
    config = uvicorn.Config(
        "soukloop.asgi:application", host="127.0.0.1", port=port, lifespan="off", log_level="warning", **served
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    connection.settings_dict["CONN_MAX_AGE"] = max_age


def _ticket(base: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://{base}/api/v1/realtime/ticket/", method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())["ticket"]


async def _next(ws, frame_type: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        if frame["type"] == frame_type:
            return frame


def test_a_live_show_chat_exchange_over_real_sockets(server_url, live_stream, buyer):
    viewer_ticket = _ticket(server_url, str(AccessToken.for_user(buyer)))
    host_ticket = _ticket(server_url, str(AccessToken.for_user(live_stream.user)))
    anonymous_ticket = _ticket(server_url)
    room = f"stream:{live_stream.pk}"

    async def exchange():
        async with (
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={viewer_ticket}") as viewer,
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={host_ticket}") as host,
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={anonymous_ticket}") as anonymous,
        ):
            for ws in (viewer, host, anonymous):
                await ws.send(json.dumps({"type": "subscribe", "channel": room}))
                assert (await _next(ws, "subscribed"))["channel"] == room
            await viewer.send(json.dumps({"type": "stream.chat", "stream_id": str(live_stream.pk), "text": "42?"}))
            for ws in (viewer, host, anonymous):
                frame = await _next(ws, "stream.chat")
                assert frame["data"]["text"] == "42?" and frame["event_id"] and frame["at"]
            await host.send(json.dumps({"type": "stream.chat", "stream_id": str(live_stream.pk), "text": "Yes, 42"}))
            for ws in (viewer, anonymous):
                assert (await _next(ws, "stream.chat"))["data"]["text"] == "Yes, 42"
            await anonymous.send(json.dumps({"type": "stream.chat", "stream_id": str(live_stream.pk), "text": "hi"}))
            assert (await _next(anonymous, "error"))["code"] == "not_authenticated"
        # A used ticket: the server closes with 4401.
        async with websockets.connect(f"ws://{server_url}/ws/v1/?ticket={viewer_ticket}") as again:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(again.recv(), timeout=5)
            assert closed.value.rcvd.code == 4401

    asyncio.run(exchange())


def test_frames_are_not_compressed_even_when_the_client_offers_it(server_url):
    """Small JSON frames: compressing each once per socket cost a big room's fan-out 40% of its
    time and every socket 35 KB (docs/realtime.md)."""

    async def scenario() -> tuple[str | None, str]:
        ticket = await asyncio.to_thread(_ticket, server_url)
        async with websockets.connect(f"ws://{server_url}/ws/v1/?ticket={ticket}", compression="deflate") as ws:
            await ws.send(json.dumps({"type": "ping"}))
            pong = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            return ws.response.headers.get("Sec-WebSocket-Extensions"), pong["type"]

    extensions, pong = asyncio.run(scenario())
    assert pong == "pong"
    assert extensions is None


def test_bids_over_real_sockets_are_acknowledged_and_reach_the_room(server_url, live_stream, buyer):
    """Two bidders on sockets, an anonymous viewer in the room: each accepted bid is answered
    on the bidder's socket (with the client's ``ref``) and shown to the whole room; a wrong
    move gets the REST code; an anonymous socket cannot bid."""
    from accounts.services import block_create
    from auctions.services import create_lot, start_lot
    from tests.factories import ProductFactory, UserFactory

    rival = UserFactory(username="rival_rashid")
    product = ProductFactory(seller=live_stream.user, title="Jordan 1 Chicago, EU 43")
    lot = create_lot(
        host=live_stream.user, stream_id=live_stream.pk, product_id=product.pk, starting_price=50, duration_seconds=60
    )
    start_lot(host=live_stream.user, auction_id=lot.pk)
    tickets = [_ticket(server_url, str(AccessToken.for_user(user))) for user in (buyer, rival)]
    anonymous_ticket = _ticket(server_url)
    room = f"stream:{live_stream.pk}"

    async def scenario():
        async with (
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={tickets[0]}") as alice,
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={tickets[1]}") as rashid,
            websockets.connect(f"ws://{server_url}/ws/v1/?ticket={anonymous_ticket}") as viewer,
        ):
            for ws in (alice, rashid, viewer):
                await ws.send(json.dumps({"type": "subscribe", "channel": room}))
                await _next(ws, "subscribed")
            bid = {"type": "auction.bid", "auction_id": str(lot.pk)}
            await alice.send(json.dumps({**bid, "amount": "50", "ref": "a1"}))
            ack = await _next(alice, "auction.bid.accepted")
            assert (ack["ref"], ack["accepted_amount"], ack["is_leader"]) == ("a1", "50.00", True)
            shown = await _next(viewer, "auction.bid")
            assert (shown["data"]["amount"], shown["data"]["bidder"]) == ("50.00", buyer.username)
            await rashid.send(json.dumps({**bid, "amount": "52", "ref": 7}))
            refused = await _next(rashid, "error")
            assert (refused["code"], refused["ref"]) == ("bid_too_low", 7)
            await rashid.send(json.dumps({**bid, "max_amount": "100", "ref": "r2"}))
            assert (await _next(rashid, "auction.bid.accepted"))["accepted_amount"] == "55.00"
            shown = await _next(viewer, "auction.bid")
            assert (shown["data"]["amount"], shown["data"]["bidder"]) == ("55.00", "rival_rashid")
            await viewer.send(json.dumps({**bid, "amount": "200"}))
            assert (await _next(viewer, "error"))["code"] == "not_authenticated"
            await alice.send(json.dumps({**bid, "amount": "not money"}))
            assert (await _next(alice, "error"))["code"] == "invalid"
            # under the floor the server heard of: refused at once, the same code
            await alice.send(json.dumps({**bid, "amount": "54", "ref": "low"}))
            assert (await _next(alice, "error"))["code"] == "bid_too_low"
            # the host blocks alice mid-lot: her socket's remembered "may bid" ends with it
            await asyncio.to_thread(block_create, blocker=live_stream.user, blocked=buyer)
            ended = await _next(alice, "error")  # she also leaves the host's room
            assert (ended["code"], ended["channel"]) == ("subscription_ended", room)
            await alice.send(json.dumps({**bid, "amount": "300", "ref": "after-block"}))
            refused = await _next(alice, "error")
            assert (refused["code"], refused["ref"]) == ("bidder_not_allowed", "after-block")

    asyncio.run(scenario())
