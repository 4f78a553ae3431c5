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

    assert set(COALESCED) == {"auction.bid", "auction.extended", "auction.outbid"}

    async def scenario() -> list[int]:
        relay, member = _relay(10)
        extended = {"channel": "stream:s1", "text": "{}", "coalesce": "stream:s1|auction.extended|lot-1"}
        relay._coalesce(_bid(1)["coalesce"], _bid(1))
        relay._coalesce(extended["coalesce"], {**extended, "seq": 2})
        relay._coalesce(_bid(3)["coalesce"], _bid(3))  # held: not flushed by the extension
        relay._coalesce(extended["coalesce"], {**extended, "seq": 4})  # held
        return list(member.seen)

    assert asyncio.run(scenario()) == [1, 2]


def test_a_lot_state_older_than_one_sent_or_held_is_dropped():
    """Two processes' bids can reach a third in either order: the frame carrying fewer bids
    (its ``order``) than one already sent or held is dropped, so a viewer never ends on it."""

    def bid(seq: int, order: float) -> dict:
        return {**_bid(seq), "order": order}

    async def scenario() -> list[int]:
        relay, member = _relay(0.05)
        relay._coalesce(bid(1, 5)["coalesce"], bid(1, 5))  # sent at once
        relay._coalesce(bid(2, 4)["coalesce"], bid(2, 4))  # older than what was sent: dropped
        relay._coalesce(bid(3, 7)["coalesce"], bid(3, 7))  # held
        relay._coalesce(bid(4, 6)["coalesce"], bid(4, 6))  # older than the held one: dropped
        relay._coalesce(bid(5, 7)["coalesce"], bid(5, 7))  # the same state again: dropped
        await asyncio.sleep(0.08)
        return list(member.seen)

    assert asyncio.run(scenario()) == [1, 3]


def test_fanout_orders_a_lots_frames_by_bid_count_and_end():
    from datetime import UTC, datetime

    from realtime.fanout import _order
    from soukloop.events import Event

    end = datetime(2026, 12, 4, 10, 0, 5, tzinfo=UTC)
    assert _order(Event("auction.bid", "stream:s1", {"bid_count": 12})) == 12.0
    assert _order(Event("auction.extended", "stream:s1", {"ends_at": end.isoformat()})) == end.timestamp()
    assert _order(Event("auction.bid", "stream:s1", {})) is None  # an old frame: coalesced unordered
    assert _order(Event("auction.outbid", "user:7", {"amount": "125.50"})) == 125.5


def test_a_lots_socket_bids_queue_behind_its_batch_and_go_together():
    """While one batch of a lot is at the database, the bids that arrive wait and go in one
    call; those under the floor the batch left are answered without the database."""
    from decimal import Decimal

    calls: list[list[str]] = []
    release = asyncio.Event()

    async def place(auction_id: str, items: list) -> list:
        calls.append(list(items))
        if len(calls) == 1:
            await release.wait()
        # every bid is taken in turn; the floor after the last is its amount + 5
        return [(f"ok:{item}", Decimal(item) + 5) for item in items]

    async def scenario() -> list:
        relay, _member = _relay(0.05)
        first = asyncio.ensure_future(relay.bid("lot-1", Decimal("50"), "50", place))
        await asyncio.sleep(0)
        later = [asyncio.ensure_future(relay.bid("lot-1", Decimal(a), a, place)) for a in ("52", "60", "70")]
        other = asyncio.ensure_future(relay.bid("lot-2", Decimal("10"), "10", place))  # its own queue
        await asyncio.sleep(0.01)
        release.set()
        return await asyncio.gather(first, *later, other)

    answers = asyncio.run(scenario())
    assert calls == [["50"], ["10"], ["60", "70"]]  # 52 was under the floor (55) batch one left
    assert answers == [
        ("answer", "ok:50"),
        ("too_low", Decimal("55")),
        ("answer", "ok:60"),
        ("answer", "ok:70"),
        ("answer", "ok:10"),
    ]


def test_a_batchs_bidders_are_answered_before_its_events_go_and_the_next_batch_waits_for_them():
    """``Placed.then`` (a batch's event delivery) runs once the batch's bids are answered and
    before the lot's next batch goes, so a process's batches deliver in commit order."""
    from decimal import Decimal

    from realtime.relay import Placed

    log: list[str] = []
    release = asyncio.Event()

    async def place(auction_id: str, items: list) -> Placed:
        log.append(f"batch {items}")

        async def then() -> None:
            log.append(f"deliver {items}")
            if items == ["50"]:
                await release.wait()

        return Placed([(f"ok:{item}", None) for item in items], then)

    async def scenario() -> None:
        relay, _member = _relay(0.05)
        first = asyncio.ensure_future(relay.bid("lot-1", Decimal("50"), "50", place))
        assert await first == ("answer", "ok:50")  # answered while its delivery is still running
        log.append("answered 50")
        second = asyncio.ensure_future(relay.bid("lot-1", Decimal("60"), "60", place))
        await asyncio.sleep(0.01)
        assert not second.done()  # waits for the first batch's delivery
        release.set()
        assert await second == ("answer", "ok:60")

    asyncio.run(scenario())
    assert log == ["batch ['50']", "deliver ['50']", "answered 50", "batch ['60']", "deliver ['60']"]


def test_a_failed_batch_fails_each_of_its_bids_and_the_next_batch_still_goes():
    from decimal import Decimal

    async def place(auction_id: str, items: list) -> list:
        if items == ["boom"]:
            raise RuntimeError("database away")
        return [("ok", None) for _ in items]

    async def scenario() -> tuple:
        relay, _member = _relay(0.05)
        failed = await asyncio.gather(relay.bid("lot-1", Decimal("50"), "boom", place), return_exceptions=True)
        after = await relay.bid("lot-1", Decimal("50"), "fine", place)
        return failed, after

    failed, after = asyncio.run(scenario())
    assert isinstance(failed[0], RuntimeError) and after == ("answer", "ok")


def test_a_late_window_timer_never_sends_the_held_frame_after_a_newer_one():
    """On a busy loop the window's timer runs late: a newer frame arriving after the window
    went out at once, and the older frame still held must not follow it (a viewer would end
    on a stale price). Seen in bench/auctions.py before the fix."""

    async def scenario() -> list[int]:
        relay, member = _relay(0.05)
        key = _bid(1)["coalesce"]
        relay._coalesce(key, {**_bid(1), "order": 1})  # sent at once
        relay._coalesce(key, {**_bid(2), "order": 2})  # held; its timer is due in 50 ms
        relay._sent_at[key] -= 0.06  # the loop was busy: the window is over, the timer not run yet
        relay._coalesce(key, {**_bid(3), "order": 3})  # goes at once
        await asyncio.sleep(0.12)  # the late timer runs
        relay._coalesce(key, {**_bid(4), "order": 4})  # within the window of 3's: held, then sent
        await asyncio.sleep(0.12)
        return list(member.seen)

    assert asyncio.run(scenario()) == [1, 3, 4]


def test_a_bidder_outbid_again_and_again_gets_the_first_notice_then_the_latest_price():
    """In a hot lot one bidder is outbid many times a second: their user channel gets the first
    ``auction.outbid`` at once, then the latest per window (the price now), each lot on its own;
    a frame of another kind on their channel (a chat message) first flushes what is held, and a
    late frame at a lower price never follows a higher one out."""
    from realtime.backlog import Entry
    from realtime.fanout import _message
    from soukloop.events import Event

    def outbid(seq: int, amount: str, lot: str = "lot-1") -> dict:
        event = Event("auction.outbid", "user:7", {"auction_id": lot, "user_id": "7", "amount": amount})
        return _message(event, Entry(seq=seq, at=0.0, text="{}"))

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        relay = Relay(layer=None)
        relay.coalesce_seconds = 0.05
        member = _Member()
        relay.members["user:7"] = {member}
        for seq, amount in ((1, "101"), (2, "103"), (3, "105"), (4, "104")):  # 4: late, lower: dropped
            relay._coalesce(outbid(seq, amount)["coalesce"], outbid(seq, amount))
        relay._coalesce(outbid(5, "40", lot="lot-2")["coalesce"], outbid(5, "40", lot="lot-2"))  # its own key
        at_once = list(member.seen)
        await asyncio.sleep(0.08)
        after_window = list(member.seen)
        relay.coalesce_seconds = 10
        relay._coalesce(outbid(6, "70", lot="lot-3")["coalesce"], outbid(6, "70", lot="lot-3"))  # a quiet key: at once
        relay._coalesce(outbid(7, "72", lot="lot-3")["coalesce"], outbid(7, "72", lot="lot-3"))  # held
        relay._flush_channel("user:7")  # a chat message arrives on the same channel
        relay._deliver({"channel": "user:7", "seq": 8, "text": "{}"})
        return at_once, after_window, list(member.seen)

    at_once, after_window, flushed = asyncio.run(scenario())
    assert at_once == [1, 5]
    assert after_window == [1, 5, 3]
    assert flushed == [1, 5, 3, 6, 7, 8]
