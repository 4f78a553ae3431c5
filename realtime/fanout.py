"""The events sink: committed domain events → numbered frames → the sockets of a channel.

Runs after the publishing transaction committed (soukloop.events). Each event is numbered
and kept in the channel's backlog, serialised once, and sent to the channel's group; every
socket subscribed to it forwards the text as is. ``user.signed_out`` (password change,
deactivation, suspension) is not a frame: it closes that user's sockets (4401).
``user.access_changed`` (a block either way) is not a frame either: that user's sockets check
their subscriptions again and end those no longer allowed (an ``error`` frame each).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer

from realtime import sender
from realtime.backlog import Entry, dumps, get_backlog
from soukloop.events import Event

logger = logging.getLogger(__name__)

CHANNEL_KINDS = ("user", "conversation", "stream")
# Events that only say "the state is now X": a socket needs the latest, not each one. The
# relay of each process sends the first at once and then at most one per
# REALTIME_COALESCE_MS per key, the latest (realtime/relay.py); the backlog keeps them all.
# ``auction.outbid`` goes to one bidder's user channel: in a hot lot a bidder is outbid many
# times a second, and the latest (the price now) is what their screen shows.
COALESCED = {"auction.bid": "auction_id", "auction.extended": "auction_id", "auction.outbid": "auction_id"}
SIGNED_OUT = "user.signed_out"
ACCESS_CHANGED = "user.access_changed"


def group_for(channel: str) -> str:
    """The layer group of an internal channel (``user:<id>`` → ``rt.user.<id>``)."""
    kind, _sep, ident = channel.partition(":")
    return f"rt.{kind}.{ident}"


def session_group(user_id: str) -> str:
    """Every socket of a user joins this group, whatever it subscribed to."""
    return f"rt.session.{user_id}"


def public_channel(channel: str) -> str:
    """What the client calls the channel: its own ``user``, else ``conversation:<id>`` / ``stream:<id>``."""
    return "user" if channel.startswith("user:") else channel


def _order(event: Event) -> float | None:
    """Where a coalesced frame stands among its key's (``relay._coalesce`` drops one older than a
    frame already sent or held): a lot's bid count for ``auction.bid``, its end for
    ``auction.extended``, the price a bidder was outbid at for ``auction.outbid``. Two
    processes' events can reach a third in either order, and the seq is taken after the
    commit, so neither arrival nor seq says which lot state is newer."""
    try:
        if event.type == "auction.bid":
            return float(event.data["bid_count"])
        if event.type == "auction.extended":
            return datetime.fromisoformat(event.data["ends_at"]).timestamp()
        if event.type == "auction.outbid":  # a lot's price only rises
            return float(event.data["amount"])
    except (KeyError, TypeError, ValueError):
        return None
    return None


def deliver(event: Event) -> None:
    deliver_many([event])


def deliver_many(batch: list[Event]) -> None:
    """The sink for a batch of events (``events.publish_many``): their frames are numbered and
    kept with one backlog round trip, then sent in order."""
    layer = get_channel_layer()
    if layer is None:
        return
    framed: list[Event] = []
    for event in batch:
        if not event.channel:
            continue
        kind, _sep, ident = event.channel.partition(":")
        if kind not in CHANNEL_KINDS or not ident:
            continue
        if event.type == SIGNED_OUT:
            sender.group_send(layer, session_group(ident), {"type": "realtime.close", "code": 4401})
        elif event.type == ACCESS_CHANGED:
            sender.group_send(layer, session_group(ident), {"type": "realtime.revalidate"})
        else:
            framed.append(event)
    if not framed:
        return
    entries = get_backlog().append_many([(event.channel or "", dumps(_frame(event))) for event in framed])
    for event, entry in zip(framed, entries, strict=True):
        sender.group_send(layer, group_for(event.channel or ""), _message(event, entry))


def _frame(event: Event) -> dict[str, Any]:
    channel = event.channel or ""
    return {"type": event.type, "channel": public_channel(channel), "at": event.at, "data": event.data}


def _message(event: Event, entry: Entry) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "realtime.event", "channel": event.channel, "seq": entry.seq, "text": entry.text}
    if event.type in COALESCED:
        message["coalesce"] = f"{event.channel}|{event.type}|{event.data.get(COALESCED[event.type], '')}"
        order = _order(event)
        if order is not None:
            message["order"] = order
    if event.type == "auction.bid" and event.data.get("next_minimum"):
        # Each process learns the lowest bid a lot can take now (it only rises): a socket's bid
        # under it is refused there, without a database round trip (realtime/relay.py).
        message["floor"] = [str(event.data["auction_id"]), str(event.data["next_minimum"])]
    return message
