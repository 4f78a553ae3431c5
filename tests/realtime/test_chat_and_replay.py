"""Chat over the socket with moderation events, replay on reconnect, and Redis down."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import caches
from django.test import override_settings
from django_redis.exceptions import ConnectionInterrupted
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from realtime.tickets import ticket_issue
from streams import services as streams
from tests.factories import UserFactory
from tests.realtime.conftest import Socket, connect, run, to_async

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_chat_message_sent_on_the_socket_reaches_the_whole_room(live_stream, buyer):
    watcher_user = UserFactory(username="watcher")

    async def scenario():
        sender = await connect(buyer)
        await sender.subscribe(f"stream:{live_stream.pk}")
        watchers = [await connect(None), await connect(watcher_user)]
        for sock in watchers:
            await sock.subscribe(f"stream:{live_stream.pk}")
        await sender.send(type="stream.chat", stream_id=str(live_stream.pk), text="How much for the blue pair?")
        for sock in [sender, *watchers]:
            frame = await sock.recv_type("stream.chat")
            assert frame["channel"] == f"stream:{live_stream.pk}"
            assert frame["data"]["text"] == "How much for the blue pair?"
            assert frame["data"]["user"]["username"] == buyer.username
        for sock in [sender, *watchers]:
            await sock.close()

    run(scenario)


def test_socket_chat_refusals_are_error_frames(live_stream, buyer):
    async def scenario():
        anonymous = await connect(None)
        await anonymous.send(type="stream.chat", stream_id=str(live_stream.pk), text="hi")
        assert (await anonymous.recv())["code"] == "not_authenticated"
        sock = await connect(buyer)
        await sock.send(type="stream.chat", stream_id=str(live_stream.pk), text="x" * 301)
        assert (await sock.recv())["code"] == "max_length"
        await sock.send(type="stream.chat", stream_id="00000000-0000-0000-0000-000000000000", text="hi")
        assert (await sock.recv())["code"] == "stream_not_found"
        await to_async(streams.chat_mute)(stream=live_stream, by=live_stream.user, user_id=buyer.pk, minutes=10)
        await sock.send(type="stream.chat", stream_id=str(live_stream.pk), text="hello?")
        assert (await sock.recv())["code"] == "chat_muted"
        await anonymous.close()
        await sock.close()

    run(scenario)


def test_moderation_actions_are_events_in_the_room(live_stream, buyer):
    message = streams.chat_send(stream=live_stream, user=buyer, text="first")

    async def scenario():
        sock = await connect(None)
        await sock.subscribe(f"stream:{live_stream.pk}")
        host = live_stream.user
        await to_async(streams.chat_message_delete)(stream=live_stream, by=host, message_id=message.pk)
        frame = await sock.recv_type("stream.chat.deleted")
        assert frame["data"]["message_ids"] == [str(message.pk)]
        await to_async(streams.chat_send)(stream=live_stream, user=buyer, text="second")
        second = await sock.recv_type("stream.chat")
        await to_async(streams.chat_ban)(stream=live_stream, by=host, user_id=buyer.pk)
        moderated = await sock.recv_type("stream.chat.moderated")
        assert moderated["data"]["action"] == "ban" and moderated["data"]["user_id"] == str(buyer.pk)
        deleted = await sock.recv_type("stream.chat.deleted")
        assert deleted["data"]["message_ids"] == [second["data"]["id"]]
        await sock.close()

    run(scenario)


def _chat(stream, user, n):
    for i in range(n):
        streams.chat_send(stream=stream, user=user, text=f"message {i}")


def test_reconnecting_with_last_event_id_replays_what_was_missed(live_stream, settings):
    settings.STREAM_CHAT_RATE_MESSAGES = 100
    host = live_stream.user  # the host is neither counted nor throttled: only chat frames

    async def scenario():
        sock = await connect(None)
        await sock.subscribe(f"stream:{live_stream.pk}")
        await to_async(_chat)(live_stream, host, 1)
        last = await sock.recv_type("stream.chat")
        await sock.close()
        await to_async(_chat)(live_stream, host, 2)  # missed while away
        back = await connect(None)
        assert (await back.subscribe(f"stream:{live_stream.pk}", last_event_id=last["event_id"]))["type"] == (
            "subscribed"
        )
        replayed = [await back.recv_type("stream.chat"), await back.recv_type("stream.chat")]
        assert [f["data"]["text"] for f in replayed] == ["message 0", "message 1"]
        assert int(last["event_id"]) < int(replayed[0]["event_id"]) < int(replayed[1]["event_id"])
        await to_async(_chat)(live_stream, host, 1)
        live = await back.recv_type("stream.chat")
        assert live["data"]["text"] == "message 0" and int(live["event_id"]) > int(replayed[1]["event_id"])
        await back.close()

    run(scenario)


def test_too_old_a_last_event_id_gets_a_resync_frame(live_stream, settings):
    settings.REALTIME_BACKLOG_EVENTS = 3
    settings.STREAM_VIEWERS_BROADCAST_SECONDS = 60
    settings.STREAM_CHAT_RATE_MESSAGES = 100
    host = live_stream.user

    async def scenario():
        await to_async(_chat)(live_stream, host, 6)
        sock = await connect(None)
        await sock.subscribe(f"stream:{live_stream.pk}", last_event_id="1")
        frame = await sock.recv_type("resync")
        assert frame == {"type": "resync", "channel": f"stream:{live_stream.pk}"}
        # An id from the future (the backlog was lost) also asks for a resync.
        other = await connect(None)
        await other.subscribe(f"stream:{live_stream.pk}", last_event_id="999")
        assert (await other.recv_type("resync"))["channel"] == f"stream:{live_stream.pk}"
        # Up to date: nothing to replay, nothing to resync.
        await to_async(_chat)(live_stream, host, 1)
        newest = await sock.recv_type("stream.chat")
        current = await connect(None)
        await current.subscribe(f"stream:{live_stream.pk}", last_event_id=newest["event_id"])
        assert await current.nothing()
        for s in (sock, other, current):
            await s.close()

    run(scenario)


def test_redis_down_on_connect_closes_with_1011(buyer):
    ticket = ticket_issue(user=buyer).ticket

    async def scenario():
        with mock.patch("realtime.consumers.ticket_redeem", side_effect=ConnectionInterrupted("down")):
            sock = await Socket(ticket).open()
            assert await sock.close_code() == 1011

    run(scenario)


def test_redis_down_while_subscribing_closes_with_1011(live_stream):
    async def scenario():
        sock = await connect(None)
        with mock.patch("realtime.consumers.get_backlog", side_effect=ConnectionInterrupted("down")):
            await sock.send(type="subscribe", channel=f"stream:{live_stream.pk}", last_event_id="1")
            assert await sock.close_code() == 1011

    run(scenario)


@pytest.fixture
def _redis_down():
    """The cache (tickets, backlog, counters) is a Redis nobody answers on."""
    down = override_settings(
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",
                "KEY_PREFIX": "down",
                "OPTIONS": {
                    "CLIENT_CLASS": "django_redis.client.DefaultClient",
                    "SOCKET_CONNECT_TIMEOUT": 0.2,
                    "SOCKET_TIMEOUT": 0.2,
                },
            }
        }
    )
    with down:
        yield
        caches["default"].close()


def test_with_redis_down_rest_keeps_working_and_the_ticket_endpoint_says_503(buyer, live_stream, _redis_down):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(buyer)}")
    response = client.post("/api/v1/realtime/ticket/")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    # A chat message still commits (its socket event is lost, not the request).
    sent = client.post(f"/api/v1/streams/{live_stream.pk}/chat/", {"text": "hi"}, format="json")
    assert sent.status_code == 201
    assert client.get(f"/api/v1/streams/{live_stream.pk}/chat/").status_code == 200


def test_with_redis_down_a_socket_cannot_open_1011(live_stream, _redis_down):
    async def scenario():
        sock = await Socket("some-ticket").open()
        assert await sock.close_code() == 1011

    run(scenario)


def test_the_gateway_recovers_when_redis_returns(buyer):
    """After an outage the next ticket and socket work again (nothing is cached as broken)."""
    ticket = ticket_issue(user=buyer).ticket

    async def scenario():
        with mock.patch("realtime.consumers.ticket_redeem", side_effect=ConnectionInterrupted("down")):
            assert await (await Socket(ticket).open()).close_code() == 1011
        sock = await Socket(ticket).open()
        assert (await sock.subscribe("user"))["type"] == "subscribed"
        await sock.close()

    run(scenario)
