"""Each event type reaches the sockets of its channel when the domain action that causes it
commits, numbered per channel with a server timestamp; a rollback sends nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from messaging import services as messaging
from messaging.models import MessageType
from streams import services as streams
from streams.models import StreamStatus
from tests.factories import ProductFactory
from tests.messaging.factories import ConversationFactory
from tests.realtime.conftest import connect, run, to_async
from tests.streams.factories import StreamFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(buyer, seller):
    return ConversationFactory(buyer=buyer, product=ProductFactory(seller=seller, price=Decimal("150.00")))


def test_a_message_reaches_the_conversation_and_both_sides_own_channel(conversation, buyer, seller):
    async def scenario():
        room = await connect(seller)
        assert (await room.subscribe(f"conversation:{conversation.pk}"))["type"] == "subscribed"
        inbox = await connect(seller)
        assert (await inbox.subscribe("user"))["type"] == "subscribed"
        message = await to_async(messaging.message_send)(
            conversation=conversation, sender=buyer, message_type=MessageType.TEXT, content="Still available?"
        )
        frame = await room.recv()
        assert frame["type"] == "message.created" and frame["channel"] == f"conversation:{conversation.pk}"
        assert frame["event_id"] == "1" and frame["at"]
        assert frame["data"]["id"] == str(message.pk) and frame["data"]["content"] == "Still available?"
        assert frame["data"]["sender_id"] == str(buyer.pk)
        updated = await inbox.recv()
        assert updated["type"] == "conversation.updated" and updated["channel"] == "user"
        assert updated["data"] == {
            "conversation_id": str(conversation.pk),
            "last_message_id": str(message.pk),
            "last_message_at": frame["data"]["created_at"],
        }
        second = await to_async(messaging.message_send)(
            conversation=conversation, sender=seller, message_type=MessageType.TEXT, content="Yes!"
        )
        frame = await room.recv()
        assert frame["event_id"] == "2" and frame["data"]["id"] == str(second.pk)
        await room.close()
        await inbox.close()

    run(scenario)


def test_reading_sends_message_read_to_the_conversation(conversation, buyer, seller):
    messaging.message_send(conversation=conversation, sender=buyer, message_type=MessageType.TEXT, content="Hi")

    async def scenario():
        sock = await connect(buyer)
        await sock.subscribe(f"conversation:{conversation.pk}")
        await to_async(messaging.conversation_mark_read)(conversation=conversation, user=seller)
        frame = await sock.recv()
        assert frame["type"] == "message.read"
        assert frame["data"]["conversation_id"] == str(conversation.pk) and frame["data"]["reader_id"] == str(seller.pk)
        # Nothing new to read: no event.
        await to_async(messaging.conversation_mark_read)(conversation=conversation, user=seller)
        assert await sock.nothing()
        await sock.close()

    run(scenario)


def test_archiving_updates_my_own_channel_only(conversation, buyer, seller):
    async def scenario():
        mine = await connect(buyer)
        await mine.subscribe("user")
        theirs = await connect(seller)
        await theirs.subscribe("user")
        await to_async(messaging.conversation_set_archived)(conversation=conversation, user=buyer, archived=True)
        frame = await mine.recv()
        assert frame["type"] == "conversation.updated" and frame["data"]["is_archived"] is True
        assert await theirs.nothing()
        await mine.close()
        await theirs.close()

    run(scenario)


def test_offer_moves_reach_both_sides_as_offer_updated(conversation, buyer, seller):
    async def scenario():
        buyer_sock = await connect(buyer)
        await buyer_sock.subscribe("user")
        seller_sock = await connect(seller)
        await seller_sock.subscribe("user")
        offer = await to_async(messaging.offer_create)(
            buyer=buyer, product_id=conversation.product_id, offered_price=Decimal("120.00")
        )
        for sock in (buyer_sock, seller_sock):
            frame = await sock.recv_type("offer.updated")
            assert frame["data"]["offer_id"] == str(offer.pk) and frame["data"]["status"] == "pending"
        await to_async(messaging.offer_counter)(offer=offer, by=seller, counter_price=Decimal("140.00"))
        for sock in (buyer_sock, seller_sock):
            frame = await sock.recv_type("offer.updated")
            assert frame["data"]["status"] == "countered" and frame["data"]["counter_price"] == "140.00"
        await buyer_sock.close()
        await seller_sock.close()

    run(scenario)


def test_a_rolled_back_action_sends_nothing(conversation, buyer):
    def send_then_fail():
        with transaction.atomic():
            messaging.message_send(conversation=conversation, sender=buyer, message_type=MessageType.TEXT, content="x")
            raise RuntimeError("payment provider down")

    async def scenario():
        sock = await connect(buyer)
        await sock.subscribe(f"conversation:{conversation.pk}")
        with pytest.raises(RuntimeError):
            await to_async(send_then_fail)()
        assert await sock.nothing()
        await sock.close()

    run(scenario)


def test_events_wait_for_the_commit(conversation, buyer):
    """Inside the transaction nothing has left yet; at commit it arrives."""

    async def scenario():
        sock = await connect(buyer)
        await sock.subscribe(f"conversation:{conversation.pk}")
        seen_inside = []

        def send_and_peek():
            with transaction.atomic():
                messaging.message_send(
                    conversation=conversation, sender=buyer, message_type=MessageType.TEXT, content="x"
                )
                from realtime.backlog import get_backlog

                seen_inside.append(get_backlog().since(f"conversation:{conversation.pk}", 0))

        await to_async(send_and_peek)()
        assert seen_inside == [[]]
        assert (await sock.recv())["type"] == "message.created"
        await sock.close()

    run(scenario)


def test_going_live_and_ending_send_stream_status(host):
    stream = StreamFactory(user=host)
    credentials = streams.stream_go_live(stream=stream, by=host)

    async def scenario():
        sock = await connect(None)
        await sock.subscribe(f"stream:{stream.pk}")
        await to_async(streams.stream_publish_start)(name=credentials.stream_key)
        frame = await sock.recv()
        assert frame["type"] == "stream.status" and frame["data"]["status"] == "live"
        # A reconnecting publisher does not repeat it.
        await to_async(streams.stream_publish_start)(name=credentials.stream_key)
        assert await sock.nothing()
        await to_async(streams.stream_end)(stream=stream, by=host)
        frame = await sock.recv()
        assert frame["type"] == "stream.status" and frame["data"]["status"] == "ended"
        assert frame["data"]["ended_at"]
        await sock.close()

    run(scenario)


def test_pinning_and_unpinning_send_stream_pinned(host):
    stream = StreamFactory(user=host, status=StreamStatus.LIVE)
    product = ProductFactory(seller=host)

    async def scenario():
        sock = await connect(None)
        await sock.subscribe(f"stream:{stream.pk}")
        await to_async(streams.stream_product_tag)(
            stream=stream, by=host, product_id=product.pk, x=0.2, y=0.7, pinned=True
        )
        frame = await sock.recv_type("stream.pinned")
        assert frame["data"] == {"stream_id": str(stream.pk), "product_id": str(product.pk), "x": 0.2, "y": 0.7}
        await to_async(streams.stream_product_untag)(stream=stream, by=host, product_id=product.pk)
        frame = await sock.recv_type("stream.pinned")
        assert frame["data"] == {"stream_id": str(stream.pk), "product_id": None}
        await sock.close()

    run(scenario)


def test_joining_the_room_counts_as_a_viewer_and_closing_as_leaving(live_stream, buyer, seller, settings):
    settings.STREAM_VIEWERS_BROADCAST_SECONDS = 1

    async def scenario():
        watcher = await connect(None)
        await watcher.subscribe(f"stream:{live_stream.pk}")
        frame = await watcher.recv_type("stream.viewers")
        assert frame["data"]["viewer_count"] == 1  # the anonymous watcher itself
        viewer = await connect(buyer)
        await viewer.subscribe(f"stream:{live_stream.pk}")
        counts = await to_async(streams.stream_viewers_sync)(stream=live_stream)
        assert counts.viewer_count == 2
        await viewer.close()
        counts = await to_async(streams.stream_viewers_sync)(stream=live_stream)
        assert counts.viewer_count == 1
        # The host watching their own show is not a viewer.
        host = await connect(live_stream.user)
        await host.subscribe(f"stream:{live_stream.pk}")
        counts = await to_async(streams.stream_viewers_sync)(stream=live_stream)
        assert counts.viewer_count == 1
        await host.close()
        await watcher.close()

    run(scenario)


def test_viewer_counts_are_broadcast_at_most_once_a_second(live_stream, settings):
    settings.STREAM_VIEWERS_BROADCAST_SECONDS = 60

    async def scenario():
        watcher = await connect(None)
        await watcher.subscribe(f"stream:{live_stream.pk}")
        assert (await watcher.recv())["type"] == "stream.viewers"
        others = [await connect(None) for _ in range(3)]
        for sock in others:
            await sock.subscribe(f"stream:{live_stream.pk}")
        assert await watcher.nothing()  # 3 joins inside the window: no new frame
        for sock in [*others, watcher]:
            await sock.close()

    run(scenario)


def test_the_last_viewer_change_of_a_busy_second_follows_when_the_window_ends(live_stream, settings):
    settings.STREAM_VIEWERS_BROADCAST_SECONDS = 1

    async def scenario():
        watcher = await connect(None)
        await watcher.subscribe(f"stream:{live_stream.pk}")
        assert (await watcher.recv_type("stream.viewers"))["data"]["viewer_count"] == 1
        others = [await connect(None) for _ in range(2)]
        for sock in others:
            await sock.subscribe(f"stream:{live_stream.pk}")
        assert await watcher.nothing(0.5)  # inside the window: held back
        frame = await watcher.recv_type("stream.viewers", timeout=3)
        assert frame["data"]["viewer_count"] == 3  # then the count as it ended up, once
        await others[0].close()
        frame = await watcher.recv_type("stream.viewers", timeout=3)
        assert frame["data"]["viewer_count"] == 2
        for sock in [others[1], watcher]:
            await sock.close()

    run(scenario)
