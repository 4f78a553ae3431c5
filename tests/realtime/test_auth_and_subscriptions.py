"""Tickets, the 4401 close, and who may subscribe to what (refusals are error frames)."""

from __future__ import annotations

import time

import pytest

from accounts import services as accounts_services
from accounts.models import Block
from realtime.tickets import ticket_issue
from soukloop import events
from tests.factories import ProductFactory, UserFactory
from tests.messaging.factories import ConversationFactory
from tests.realtime.conftest import Socket, connect, run, to_async

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_signed_in_user_gets_a_single_use_ticket_for_60_seconds(auth_client, buyer):
    response = auth_client(buyer).post("/api/v1/realtime/ticket/")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 60 and body["anonymous"] is False and len(body["ticket"]) > 30
    assert response["Cache-Control"] == "no-store"


def test_without_a_jwt_the_ticket_is_viewer_only(api_client):
    body = api_client.post("/api/v1/realtime/ticket/").json()
    assert body["anonymous"] is True

    async def scenario():
        sock = await Socket(body["ticket"]).open()
        assert await sock.subscribe("user") == {
            "type": "error",
            "code": "not_authenticated",
            "detail": "Sign in to receive your own events.",
            "channel": "user",
        }
        await sock.send(type="ping")
        assert await sock.recv() == {"type": "pong"}
        await sock.close()

    run(scenario)


def test_a_bad_ticket_closes_with_4401():
    async def scenario():
        sock = await Socket("not-a-ticket").open()
        assert await sock.close_code() == 4401

    run(scenario)


def test_a_used_ticket_closes_with_4401(buyer):
    ticket = ticket_issue(user=buyer).ticket

    async def scenario():
        first = await Socket(ticket).open()
        assert (await first.subscribe("user"))["type"] == "subscribed"
        second = await Socket(ticket).open()
        assert await second.close_code() == 4401
        await first.close()

    run(scenario)


def test_an_expired_ticket_closes_with_4401(buyer, settings):
    """Real time, not a moved clock: Redis expires the key itself."""
    settings.REALTIME_TICKET_TTL_SECONDS = 1
    ticket = ticket_issue(user=buyer).ticket
    time.sleep(1.3)

    async def scenario():
        sock = await Socket(ticket).open()
        assert await sock.close_code() == 4401

    run(scenario)


def test_a_ticket_of_a_user_deactivated_since_closes_with_4401(buyer):
    ticket = ticket_issue(user=buyer).ticket
    buyer.is_active = False
    buyer.save(update_fields=["is_active"])

    async def scenario():
        sock = await Socket(ticket).open()
        assert await sock.close_code() == 4401

    run(scenario)


def test_the_access_token_is_not_accepted_in_the_url(buyer):
    from rest_framework_simplejwt.tokens import AccessToken

    async def scenario():
        sock = await Socket(str(AccessToken.for_user(buyer))).open()
        assert await sock.close_code() == 4401

    run(scenario)


def test_conversation_participants_subscribe_strangers_are_refused(buyer, seller):
    conversation = ConversationFactory(buyer=buyer, product=ProductFactory(seller=seller))
    stranger = UserFactory()

    async def scenario():
        for user in (buyer, seller):
            sock = await connect(user)
            assert await sock.subscribe(f"conversation:{conversation.pk}") == {
                "type": "subscribed",
                "channel": f"conversation:{conversation.pk}",
            }
            await sock.close()
        sock = await connect(stranger)
        frame = await sock.subscribe(f"conversation:{conversation.pk}")
        assert frame["type"] == "error" and frame["code"] == "conversation_not_found"
        anonymous = await connect(None)
        frame = await anonymous.subscribe(f"conversation:{conversation.pk}")
        assert frame["code"] == "not_authenticated"
        await sock.close()
        await anonymous.close()

    run(scenario)


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_a_blocked_pair_cannot_follow_their_conversation(buyer, seller, who_blocks):
    conversation = ConversationFactory(buyer=buyer, product=ProductFactory(seller=seller))
    blocker, blocked = (buyer, seller) if who_blocks == "buyer" else (seller, buyer)
    Block.objects.create(blocker=blocker, blocked=blocked)

    async def scenario():
        for user in (buyer, seller):
            sock = await connect(user)
            frame = await sock.subscribe(f"conversation:{conversation.pk}")
            assert frame["type"] == "error" and frame["code"] == "conversation_not_found"
            await sock.close()

    run(scenario)


def test_anyone_who_may_see_a_stream_joins_its_room_not_a_viewer_the_host_blocked(live_stream, buyer):
    blocked = UserFactory()
    Block.objects.create(blocker=live_stream.user, blocked=blocked)

    async def scenario():
        for user in (None, buyer, live_stream.user):
            sock = await connect(user)
            assert (await sock.subscribe(f"stream:{live_stream.pk}"))["type"] == "subscribed"
            await sock.close()
        sock = await connect(blocked)
        frame = await sock.subscribe(f"stream:{live_stream.pk}")
        assert frame["type"] == "error" and frame["code"] == "stream_not_found"
        await sock.close()

    run(scenario)


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ("stream:00000000-0000-0000-0000-000000000000", "stream_not_found"),
        ("stream:nope", "invalid_channel"),
        ("orders:1", "invalid_channel"),
        (7, "invalid_channel"),
    ],
)
def test_unknown_channels_are_refused_with_an_error_frame(buyer, channel, code):
    async def scenario():
        sock = await connect(buyer)
        frame = await sock.subscribe(channel)
        assert frame["type"] == "error" and frame["code"] == code
        await sock.close()

    run(scenario)


def test_malformed_and_unknown_frames_get_error_frames(buyer):
    async def scenario():
        sock = await connect(buyer)
        await sock.comm.send_to(text_data="{not json")
        assert (await sock.recv())["code"] == "invalid_frame"
        await sock.send(type="dance")
        assert (await sock.recv())["code"] == "unknown_type"
        await sock.send(type="unsubscribe", channel="user")
        assert (await sock.recv())["code"] == "not_subscribed"
        await sock.close()

    run(scenario)


def test_a_password_change_closes_the_users_open_sockets(auth_client, buyer):
    buyer.set_password("old-Passw0rd!")
    buyer.save()
    client = auth_client(buyer)

    async def scenario():
        sock = await connect(buyer)
        assert (await sock.subscribe("user"))["type"] == "subscribed"
        response = await to_async(client.post)(
            "/api/v1/auth/change-password/",
            {"current_password": "old-Passw0rd!", "new_password": "n3w-Sturdy-pass"},
            format="json",
        )
        assert response.status_code in (200, 204), response.content
        assert await sock.close_code() == 4401

    run(scenario)


def test_deactivation_closes_the_users_open_sockets(buyer):
    from accounts.services import user_deactivate

    bystander = UserFactory()

    async def scenario():
        sock = await connect(buyer)
        other = await connect(bystander)
        await to_async(user_deactivate)(user=buyer)
        assert await sock.close_code() == 4401
        assert await other.nothing()
        await other.close()

    run(scenario)


def test_after_unsubscribing_no_more_events_arrive(live_stream, buyer):
    from streams import services as streams

    async def scenario():
        sock = await connect(None)
        await sock.subscribe(f"stream:{live_stream.pk}")
        await sock.send(type="unsubscribe", channel=f"stream:{live_stream.pk}")
        frame = await sock.recv_type("unsubscribed")
        assert frame == {"type": "unsubscribed", "channel": f"stream:{live_stream.pk}"}
        await to_async(streams.chat_send)(stream=live_stream, user=buyer, text="anyone?")
        assert await sock.nothing()
        await sock.close()

    run(scenario)


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_a_block_ends_the_conversation_both_sides_already_follow(buyer, seller, who_blocks):
    conversation = ConversationFactory(buyer=buyer, product=ProductFactory(seller=seller))
    blocker, blocked = (buyer, seller) if who_blocks == "buyer" else (seller, buyer)
    channel = f"conversation:{conversation.pk}"

    async def scenario():
        socks = [await connect(buyer), await connect(seller)]
        for sock in socks:
            assert (await sock.subscribe(channel))["type"] == "subscribed"
        await to_async(accounts_services.block_create)(blocker=blocker, blocked=blocked)
        for sock in socks:
            frame = await sock.recv_type("error")
            assert frame["code"] == "subscription_ended" and frame["channel"] == channel
        # and the conversation's events no longer reach either of them
        await to_async(lambda: events.publish("message.created", channel=channel, data={"id": "x"}))()
        for sock in socks:
            assert await sock.nothing()
            await sock.close()

    run(scenario)


def test_a_viewer_the_host_blocks_mid_show_leaves_the_room_others_stay(live_stream, buyer):
    bystander = UserFactory()
    room = f"stream:{live_stream.pk}"

    async def scenario():
        blocked, other = await connect(buyer), await connect(bystander)
        for sock in (blocked, other):
            assert (await sock.subscribe(room))["type"] == "subscribed"
        await to_async(accounts_services.block_create)(blocker=live_stream.user, blocked=buyer)
        frame = await blocked.recv_type("error")
        assert frame["code"] == "subscription_ended" and frame["channel"] == room
        await to_async(lambda: events.publish("stream.chat", channel=room, data={"text": "still here?"}))()
        assert (await other.recv_type("stream.chat"))["data"]["text"] == "still here?"
        assert await blocked.nothing()
        await blocked.close()
        await other.close()

    run(scenario)
