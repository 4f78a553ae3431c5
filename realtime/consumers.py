"""The socket protocol of ``/ws/v1/`` (docs/realtime.md).

Client frames: ``subscribe`` / ``unsubscribe`` (``channel``, ``last_event_id``?),
``stream.chat`` (``stream_id``, ``text``), ``auction.bid`` (``auction_id``, ``amount`` or
``max_amount``, ``ref``?), ``ping``. Server frames: events (``type, channel, event_id, at,
data``), ``subscribed``, ``unsubscribed``, ``resync``, ``auction.bid.accepted``
(``auction_id, accepted_amount, is_leader, ends_at, ref``), ``error`` (``code, detail``,
``ref`` when the frame had one), ``pong``.

Close codes: 4401 bad, used or expired ticket, or the user signed out everywhere
(password change, deactivation); 1011 Redis (tickets, backlog, layer) unreachable; 1013 the
client fell REALTIME_OUTBOX_FRAMES frames behind (it stopped reading).

Events reach a socket through the process's relay (realtime/relay.py): one layer group
membership per channel per process, not one per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from rest_framework.exceptions import ValidationError

from auctions import services as auction_services
from auctions.serializers import bid_frame_validate
from realtime import access
from realtime.backlog import get_backlog
from realtime.fanout import public_channel, session_group
from realtime.relay import Outbox, Placed, relay_for
from realtime.tickets import ticket_redeem
from soukloop import events, metrics, presence
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import DomainError
from streams import services as stream_services

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_UNAVAILABLE = 1011
CLOSE_TOO_SLOW = 1013
# Redis unreachable, seen from the cache (django-redis), redis-py or the layer's own socket.
_REDIS_DOWN = (*CACHE_UNAVAILABLE, ConnectionError, OSError)
_PRESENCE_HEARTBEAT_SECONDS = 20
_MAX_FRAME_CHARS = 4096


def _redeem(ticket: str):
    claim = ticket_redeem(ticket)
    if claim is None:
        return None, None
    user = access.user_for(claim.user_id)
    if claim.user_id is not None and user is None:
        return None, None  # deactivated since the ticket was issued
    return claim, user


def _place_bids_holding(auction_id: str, requests: list[Any]) -> tuple[list[Any], list[Callable[[], None]]]:
    with events.deliveries_held() as kept:
        answers = auction_services.place_bids(auction_id=auction_id, bids=requests)
    return answers, kept


async def _place_bids(auction_id: str, requests: list[Any]) -> Placed:
    """A batch of one lot's socket bids at the database (realtime/relay.py), each with the
    lot's floor after it as far as its answer tells. The batch's events (the room's price, the
    outbid notices) are delivered once its bidders are answered, on the same thread, before the
    lot's next batch: a bidder's answer does not wait for them."""
    answers, kept = await database_sync_to_async(_place_bids_holding)(auction_id, requests)
    told: list[tuple[Any, Decimal | None]] = []
    for answer in answers:
        if isinstance(answer, auction_services.BidResult):
            told.append((answer, answer.next_minimum))
        elif isinstance(answer, auction_services.BidTooLow):
            told.append((answer, answer.minimum))
        else:
            told.append((answer, None))
    if not kept:
        return Placed(told)
    return Placed(told, lambda: database_sync_to_async(events.deliver_held)(kept))


def _refused_bidder(answer: Any) -> bool:
    """Whether a bid's answer refuses its bidder (who they are), not the bid (price, time)."""
    return isinstance(answer, DomainError) and answer.code in {"bidder_not_allowed", "own_auction", "not_found"}


def _replay(channel: str, last_event_id: int):
    return get_backlog().since(channel, last_event_id)


class GatewayConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections`` before every message.

        That call is a hop onto the one thread all of a process's sockets share for the
        database, so every frame (a ping, a bid the floor refuses) waited behind whatever
        database work was queued: on a busy lot, a lot's whole batch. Every database call here
        goes through ``database_sync_to_async``, which closes stale connections on both sides
        of the call itself, so the hop bought nothing (tests/realtime/test_busy_thread.py)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.user = None
        self.viewer_key = ""
        self.subscriptions: dict[str, str] = {}  # internal channel → public name
        self.bid_checked: dict[str, float] = {}  # lot id → until when this person may bid on it (asked)
        self.replayed_upto: dict[str, int] = {}
        self.replaying: dict[str, list[dict[str, Any]]] = {}  # events held while a replay runs
        self.outbox = Outbox(self._send_text, limit=settings.REALTIME_OUTBOX_FRAMES, overflow=self._too_slow)
        self.presence: dict[str, float] = {}  # stream id → last join
        self.closed = False
        await self.accept()
        metrics.sockets_opened()
        self.counted = True
        ticket = (parse_qs(self.scope.get("query_string", b"").decode()).get("ticket") or [""])[0]
        try:
            claim, user = await database_sync_to_async(_redeem)(ticket)
            if claim is None:
                await self._close(CLOSE_UNAUTHORIZED)
                return
            self.user, self.viewer_key = user, str(user.pk) if user else claim.viewer_key
            if user is not None:
                await self.channel_layer.group_add(session_group(str(user.pk)), self.channel_name)
        except _REDIS_DOWN:
            logger.warning("realtime: Redis unreachable on connect")
            await self._close(CLOSE_UNAVAILABLE)

    async def _close(self, code: int) -> None:
        self.closed = True
        self.outbox.closed = True
        await self.close(code=code)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    def _too_slow(self) -> None:
        logger.info("realtime: closing a socket that stopped reading")
        asyncio.get_running_loop().create_task(self._close(CLOSE_TOO_SLOW))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.sockets_closed()
            self.counted = False
        if hasattr(self, "outbox"):
            self.outbox.closed = True
        for channel in list(getattr(self, "subscriptions", {})):
            await self._leave(channel, quiet=True)
        if getattr(self, "user", None) is not None:
            with contextlib.suppress(_REDIS_DOWN):
                await self.channel_layer.group_discard(session_group(str(self.user.pk)), self.channel_name)

    # --- client frames ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed:
            return
        frame = self._parse(text_data)
        if frame is None:
            await self._error("invalid_frame", "Send one JSON object with a type.")
            return
        handler = {
            "ping": self._ping,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "stream.chat": self._chat,
            "auction.bid": self._bid,
        }.get(frame["type"])
        if handler is None:
            await self._error("unknown_type", "Frame types: subscribe, unsubscribe, stream.chat, auction.bid, ping.")
            return
        try:
            await handler(frame)
        except _REDIS_DOWN:
            logger.warning("realtime: Redis unreachable, closing socket")
            await self._close(CLOSE_UNAVAILABLE)

    @staticmethod
    def _parse(text_data: str | None) -> dict[str, Any] | None:
        if not text_data or len(text_data) > _MAX_FRAME_CHARS:
            return None
        try:
            frame = json.loads(text_data)
        except ValueError:
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return None
        return frame

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def _error(self, code: str, detail: str, **extra: Any) -> None:
        await self._send({"type": "error", "code": code, "detail": detail, **extra})

    async def _ping(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        for channel in self.subscriptions:
            await self._watching(channel, True)
            stream_id = channel.partition(":")[2]
            if channel.startswith("stream:") and now - self.presence.get(stream_id, 0) > _PRESENCE_HEARTBEAT_SECONDS:
                await self._presence_join(stream_id)
        await self._send({"type": "pong"})

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        requested = frame.get("channel")
        try:
            channel = await database_sync_to_async(access.resolve_channel)(user=self.user, channel=requested)
        except access.Refusal as refusal:
            await self._error(refusal.code, refusal.detail, channel=requested)
            return
        if channel not in self.subscriptions and len(self.subscriptions) >= settings.REALTIME_MAX_SUBSCRIPTIONS:
            await self._error("too_many_subscriptions", "Unsubscribe from something first.", channel=requested)
            return
        last_event_id = frame.get("last_event_id")
        if last_event_id is not None:
            try:
                last_event_id = int(last_event_id)
            except (TypeError, ValueError):
                await self._error("invalid_last_event_id", "last_event_id is an event_id.", channel=requested)
                return
        # Join first, then replay: events arriving meanwhile are held (replaying) and sent
        # after the replay, skipping those it already sent (replayed_upto).
        self.replaying[channel] = []
        try:
            await relay_for(self.channel_layer).join(channel, self)
            self.subscriptions[channel] = public_channel(channel)
            await self._send({"type": "subscribed", "channel": public_channel(channel)})
            if last_event_id is not None:
                missed = await database_sync_to_async(_replay)(channel, last_event_id)
                if missed is None:
                    await self._send({"type": "resync", "channel": public_channel(channel)})
                else:
                    for entry in missed:
                        await self.send(text_data=entry.text)
                    if missed:
                        self.replayed_upto[channel] = missed[-1].seq
        finally:
            for message in self.replaying.pop(channel, ()):
                self.relay_event(message)
        if channel.startswith("stream:"):
            await self._presence_join(channel.partition(":")[2])
        await self._watching(channel, True)

    async def _watching(self, channel: str, on: bool) -> None:
        """A signed-in person with a conversation open needs no push for its messages."""
        if self.user is None or not channel.startswith("conversation:"):
            return
        mark = presence.watching_mark if on else presence.watching_clear
        await database_sync_to_async(mark)(channel=channel, user_id=self.user.pk)

    async def _unsubscribe(self, frame: dict[str, Any]) -> None:
        requested = frame.get("channel")
        channel = next((c for c, public in self.subscriptions.items() if public == requested), None)
        if channel is None:
            await self._error("not_subscribed", "Not subscribed to that channel.", channel=requested)
            return
        await self._leave(channel)
        await self._send({"type": "unsubscribed", "channel": requested})

    async def _leave(self, channel: str, *, quiet: bool = False) -> None:
        self.subscriptions.pop(channel, None)
        await self._watching(channel, False)
        self.replayed_upto.pop(channel, None)
        try:
            await relay_for(self.channel_layer).leave(channel, self)
        except _REDIS_DOWN:
            if not quiet:
                raise
        if channel.startswith("stream:"):
            stream_id = channel.partition(":")[2]
            self.presence.pop(stream_id, None)
            await database_sync_to_async(stream_services.stream_presence_leave)(
                stream_id=stream_id, viewer_key=self.viewer_key
            )
            self._settle_viewers(stream_id)

    async def _presence_join(self, stream_id: str) -> None:
        self.presence[stream_id] = time.monotonic()
        await database_sync_to_async(stream_services.stream_presence_join)(
            stream_id=stream_id, viewer_key=self.viewer_key
        )
        self._settle_viewers(stream_id)

    def _settle_viewers(self, stream_id: str, attempt: int = 0) -> None:
        """The count a join or leave inside the broadcast window changed goes out when the
        window ends (one check per room per process)."""
        relay = relay_for(self.channel_layer)

        async def settle() -> None:
            again = await database_sync_to_async(stream_services.stream_viewers_settle)(stream_id=stream_id)
            if again and attempt < 3:
                self._settle_viewers(stream_id, attempt + 1)

        relay.once_later(f"viewers:{stream_id}", settings.STREAM_VIEWERS_BROADCAST_SECONDS + 0.05, settle)

    async def _chat(self, frame: dict[str, Any]) -> None:
        if self.user is None:
            await self._error("not_authenticated", "Sign in to chat.")
            return
        try:
            await database_sync_to_async(self._chat_send)(frame.get("stream_id"), frame.get("text"))
        except access.Refusal as refusal:
            await self._error(refusal.code, refusal.detail)
        except DomainError as error:
            await self._error(error.code, str(error.detail))

    async def _bid(self, frame: dict[str, Any]) -> None:
        """A bid over the socket: the same service, rules and codes as POST .../bids/; the answer
        is an ``auction.bid.accepted`` frame (or an ``error``) carrying the client's ``ref``.

        A busy lot's bids stay off the database where the answer is already known, and share
        its round trips where not: a bid under the lot's floor as this process last heard it
        (prices only rise) is refused here; who may bid (blocks, strikes) is asked once per lot
        per AUCTION_BIDDER_CHECK_SECONDS per socket (a block ends it at once); the rest wait
        for the lot's next batch (``Relay.bid``: one row lock and one round of writes for the
        bids that arrived while the last batch was at the database)."""
        ref = frame.get("ref")
        extra = {"ref": ref} if isinstance(ref, str | int) and len(str(ref)) <= 64 else {}
        if self.user is None:
            await self._error("not_authenticated", "Sign in to bid.", **extra)
            return
        try:
            auction_id = str(uuid.UUID(str(frame.get("auction_id"))))
        except ValueError:
            await self._error("not_found", "No such lot.", **extra)
            return
        try:
            data = bid_frame_validate(frame)
        except ValidationError as invalid:
            first = invalid.detail[0] if isinstance(invalid.detail, list) else invalid.detail
            await self._error(getattr(first, "code", "invalid"), str(first), **extra)
            return
        (bid,) = data.values()
        relay = relay_for(self.channel_layer)
        floor = relay.bid_floor(auction_id)
        if floor is not None and bid < floor:
            await self._error("bid_too_low", f"Bid at least {floor}.", minimum=str(floor), **extra)
            return
        try:
            check = self.bid_checked.get(auction_id, 0.0) <= time.monotonic()
            request = auction_services.BidRequest(bidder=self.user, check_bidder=check, **data)
            kind, answer = await relay.bid(auction_id, bid, request, _place_bids)
            if check and kind == "answer" and not _refused_bidder(answer):
                self.bid_checked[auction_id] = time.monotonic() + settings.AUCTION_BIDDER_CHECK_SECONDS
        except DomainError as error:
            await self._error(error.code, str(error.detail), **extra)
            return
        except DatabaseError:  # the database is away: this bid was not taken; the socket stays
            logger.warning("realtime: a socket bid failed at the database")
            await self._error("service_unavailable", "Bidding is unavailable for a moment; try again.", **extra)
            return
        if kind == "too_low":
            await self._error("bid_too_low", f"Bid at least {answer}.", minimum=str(answer), **extra)
        elif isinstance(answer, auction_services.BidTooLow):
            await self._error(answer.code, str(answer.detail), minimum=str(answer.minimum), **extra)
        elif isinstance(answer, DomainError):
            await self._error(answer.code, str(answer.detail), **extra)
        else:
            accepted = {
                "auction_id": auction_id,
                "accepted_amount": str(answer.accepted_amount),
                "is_leader": answer.is_leader,
                "ends_at": answer.ends_at.isoformat(),
            }
            await self._send({"type": "auction.bid.accepted", **accepted, **extra})

    def _chat_send(self, stream_id: object, text: object) -> None:
        stream = access.stream_for(user=self.user, stream_id=stream_id)
        stream_services.chat_send(stream=stream, user=self.user, text=text if isinstance(text, str) else "")

    # --- events and layer messages ----------------------------------------------------------

    def relay_event(self, message: dict[str, Any]) -> None:
        """An event of a channel this socket joined (from the process's relay, on the event loop:
        no thread hop, no task unless the outbox was idle)."""
        channel = message["channel"]
        held = self.replaying.get(channel)
        if held is not None:
            held.append(message)
            return
        if channel not in self.subscriptions or message["seq"] <= self.replayed_upto.get(channel, 0):
            return
        self.outbox.put(message["text"])

    async def realtime_revalidate(self, message: dict[str, Any]) -> None:
        """A block was made: end the subscriptions this socket may no longer have, and ask again
        who this person may bid against."""
        self.bid_checked.clear()
        for channel, public in list(self.subscriptions.items()):
            if channel.startswith("user:"):
                continue
            try:
                await database_sync_to_async(access.resolve_channel)(user=self.user, channel=public)
            except access.Refusal:
                await self._leave(channel)
                await self._error("subscription_ended", "You can no longer follow this channel.", channel=public)

    async def realtime_close(self, message: dict[str, Any]) -> None:
        await self._close(int(message.get("code", CLOSE_UNAUTHORIZED)))
