"""A live lot's bids reach sockets coalesced: the first at once, then the latest at most once per
window, and nothing overtakes (realtime/relay.py)."""

from __future__ import annotations

import asyncio

from realtime.relay import Relay


class _Member:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def relay_event(self, message: dict) -> None:
        self.seen.append(message["seq"])


def _bid(seq: int, lot: str = "lot-1") -> dict:
    return {"channel": "stream:s1", "seq": seq, "text": "{}", "coalesce": f"stream:s1|auction.bid|{lot}"}


def _relay(window: float) -> tuple[Relay, _Member]:
    relay = Relay(layer=None)
    relay.coalesce_seconds = window
    member = _Member()
    relay.members["stream:s1"] = {member}
    return relay, member


def test_a_burst_of_bids_is_the_first_at_once_then_the_latest_per_window():
    async def scenario() -> list[list[int]]:
        relay, member = _relay(0.05)
        snapshots = []
        for seq in range(1, 11):
            relay._coalesce(_bid(seq)["coalesce"], _bid(seq))
        snapshots.append(list(member.seen))
        await asyncio.sleep(0.08)
        snapshots.append(list(member.seen))
        for seq in range(11, 14):
            relay._coalesce(_bid(seq)["coalesce"], _bid(seq))
        await asyncio.sleep(0.12)
        snapshots.append(list(member.seen))
        await asyncio.sleep(0.1)  # quiet for a window: the next bid goes out at once
        relay._coalesce(_bid(14)["coalesce"], _bid(14))
        snapshots.append(list(member.seen))
        return snapshots

    at_once, after_window, later, after_quiet = asyncio.run(scenario())
    assert at_once == [1]
    assert after_window == [1, 10]
    assert later == [1, 10, 13]
    assert after_quiet == [1, 10, 13, 14]


def test_another_event_of_the_room_first_flushes_the_held_bid_and_lots_do_not_mix():
    async def scenario() -> list[int]:
        relay, member = _relay(10)
        relay._coalesce(_bid(1)["coalesce"], _bid(1))
        relay._coalesce(_bid(2, lot="lot-2")["coalesce"], _bid(2, lot="lot-2"))  # another lot: its own key
        relay._coalesce(_bid(3)["coalesce"], _bid(3))  # held
        relay._flush_channel("stream:s1")  # e.g. auction.closed arriving
        relay._deliver({"channel": "stream:s1", "seq": 4, "text": "{}"})
        return member.seen

    assert asyncio.run(scenario()) == [1, 2, 3, 4]


def test_the_bid_floor_only_rises_and_is_per_lot():
    from decimal import Decimal

    relay, _member = _relay(0.05)
    assert relay.bid_floor("lot-1") is None
    relay._raise_floor("lot-1", Decimal("60"))
    relay._raise_floor("lot-1", Decimal("55"))  # a late, older event: the floor stays
    relay._raise_floor("lot-2", Decimal("12"))
    assert (relay.bid_floor("lot-1"), relay.bid_floor("lot-2")) == (Decimal("60"), Decimal("12"))


def test_a_lots_extended_frames_coalesce_apart_from_its_bids():
    """In a lot's last seconds every bid also extends it: the two kinds are held under their
    own keys, so one does not flush the other (only another kind of event does)."""
    from realtime.fanout import COALESCED

    assert set(COALESCED) == {"auction.bid", "auction.extended"}

    async def scenario() -> list[int]:
        relay, member = _relay(10)
        extended = {"channel": "stream:s1", "text": "{}", "coalesce": "stream:s1|auction.extended|lot-1"}
        relay._coalesce(_bid(1)["coalesce"], _bid(1))
        relay._coalesce(extended["coalesce"], {**extended, "seq": 2})
        relay._coalesce(_bid(3)["coalesce"], _bid(3))  # held: not flushed by the extension
        relay._coalesce(extended["coalesce"], {**extended, "seq": 4})  # held
        return list(member.seen)

    assert asyncio.run(scenario()) == [1, 2]
