"""Live-auction benchmark on PostGIS + Redis: one lot, a room of viewers on WebSockets, bidders
bidding over their sockets as fast as they can.

    .venv/bin/python bench/auctions.py [--viewers 1000] [--bidders 200] [--seconds 30] [--servers 2] [--timeline]

Starts the ASGI app under uvicorn (``--servers`` processes, as production's worker class:
sans-I/O websockets, no permessage-deflate) on loopback; viewers and bidders are spread over
them. Each bidder has one bid in flight at a time and bids again as soon as it is answered:
- ``--mode button`` (default): one increment over the highest price any bidder has been told
  of (accepted answers, and the ``minimum`` of a ``bid_too_low``), as the app's bid button
  does; under contention many bid the same amount and one of them wins;
- ``--mode ladder``: every bid is the next rung of one shared ladder, so nobody bids an amount
  already taken: the accept path's own capacity (lock, writes, events, fan-out).

Prints, next to the issue's targets:
- accepted bids per second (and all bids answered per second);
- bid acknowledgement: from sending an ``auction.bid`` frame to its answer, p50/p99;
- fan-out: from an accepted bid's answer until every viewer socket shows that price or a
  later one, p50/p99 (the room gets a lot's bids coalesced: the first at once, then the latest
  at most every REALTIME_COALESCE_MS; docs/realtime.md); also from the bid's send.
Then it checks the result: the accepted prices in the database strictly increase and match
what the bidders were told; after the hammer every viewer shows the final price and the close.

Environment: BENCH_DATABASE_URL (default postgis://postgres@127.0.0.1:5432/soukloop_auctions),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/11), BENCH_PORT (default 8120, then +1...).
Server logs: var/bench-realtime-<port>.log.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import importlib.util
import itertools
import json
import os
import random
import re
import resource
import statistics
import time
from decimal import Decimal
from pathlib import Path

from production_env import ensure_database, production_like_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/soukloop_auctions")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PORT = int(os.environ.get("BENCH_PORT", "8120"))
INCREMENT = Decimal("1")
SPREAD = int(os.environ.get("BENCH_SPREAD", "1"))  # button mode: 1..SPREAD increments over the known price
MODE = ["button"]
AMOUNT = re.compile(r'"amount":\s*"([0-9.]+)"')


def _load_realtime_bench():
    """bench/realtime.py (its server starter), under a name that is not the ``realtime`` app's."""
    spec = importlib.util.spec_from_file_location("bench_realtime", Path(__file__).with_name("realtime.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bench_realtime = _load_realtime_bench()

SERVER_ENV = production_like_env(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    CACHE_KEY_PREFIX="auction-bench",
    ALLOWED_HOSTS="127.0.0.1",
    THROTTLE_USER="1000000/min",
    THROTTLE_ANON="1000000/min",
    VAR_DIR=str(ROOT / "var" / "bench"),
)
_bench_realtime.SERVER_ENV.clear()
_bench_realtime.SERVER_ENV.update(SERVER_ENV)


def seed(bidders: int) -> dict:
    """A host live with one running lot (start 10, increment 1, 600 s) and ``bidders`` verified
    people; fresh each run."""
    from accounts.models import User, VerificationStatus
    from auctions.services import create_lot, start_lot
    from streams.models import Stream, StreamStatus
    from tests.factories import ProductFactory, UserFactory

    def user(name: str, n: int) -> User:
        return User.objects.filter(username=name).first() or UserFactory(
            username=name, email=f"{name}@bench.soukloop.ae", phone=f"+97158{n:07d}"
        )

    host = user("auction_bench_host", 9_999_999)
    User.objects.filter(pk=host.pk).update(verification_status=VerificationStatus.APPROVED)
    Stream.objects.filter(user=host, status=StreamStatus.LIVE).update(status=StreamStatus.ENDED)
    stream = Stream.objects.create(user=host, title="Card break", category="trading_cards", status=StreamStatus.LIVE)
    people = [user(f"auction_bench_bidder_{i}", i) for i in range(bidders)]
    User.objects.filter(pk__in=[p.pk for p in people]).update(is_verified=True)
    product = ProductFactory(seller=host, title="Charizard 1st edition, PSA 9", price=Decimal("10"))
    lot = create_lot(
        host=host,
        stream_id=stream.pk,
        product_id=product.pk,
        starting_price=Decimal("10"),
        bid_increment=INCREMENT,
        duration_seconds=600,
        sudden_death=True,
    )
    start_lot(host=host, auction_id=lot.pk)
    from django.db import connection

    # What autovacuum does between shows on a production server (this machine's PostgreSQL runs
    # with it off): earlier runs' dead versions of the lots and people are not this run's cost.
    with connection.cursor() as cursor:
        for table in ("auctions_auction", "accounts_user", "auctions_bid", "payments_transaction"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"stream": str(stream.pk), "lot": str(lot.pk), "bidders": people}


async def open_sockets(ports: list[int], tickets: list[str], room: str | None) -> list:
    import websockets

    async def one(i: int, ticket: str):
        ws = await websockets.connect(
            f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/v1/?ticket={ticket}",
            ping_interval=None,
            open_timeout=120,
            max_queue=None,
        )
        if room:
            await ws.send(json.dumps({"type": "subscribe", "channel": room}))
            while json.loads(await ws.recv())["type"] != "subscribed":
                pass
        return ws

    socks = []
    for start in range(0, len(tickets), 200):
        opened = await asyncio.gather(*(one(i, t) for i, t in enumerate(tickets[start : start + 200], start)))
        socks += opened
    return socks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q + 0.5) - 1))]


async def run(ports: list[int], data: dict, viewers: int, seconds: float) -> dict:
    from realtime.tickets import ticket_issue

    room = f"stream:{data['stream']}"
    viewer_tickets = await asyncio.to_thread(lambda: [ticket_issue(user=None).ticket for _ in range(viewers)])
    bidder_tickets = await asyncio.to_thread(lambda: [ticket_issue(user=u).ticket for u in data["bidders"]])
    viewer_socks = await open_sockets(ports, viewer_tickets, room)
    bidder_socks = await open_sockets(ports, bidder_tickets, None)
    await asyncio.sleep(1.5)

    # Each viewer: the times and prices of the auction frames it receives, and whether the
    # close reached it.
    seen: list[tuple[list[float], list[Decimal]]] = [([], []) for _ in viewer_socks]
    closed = [False] * len(viewer_socks)

    async def viewer(i: int, ws) -> None:
        times, prices = seen[i]
        async for raw in ws:
            if '"auction.bid"' in raw:
                match = AMOUNT.search(raw)
                if match:
                    times.append(time.perf_counter())
                    prices.append(Decimal(match.group(1)))
            elif '"auction.closed"' in raw:
                closed[i] = True

    readers = [asyncio.create_task(viewer(i, ws)) for i, ws in enumerate(viewer_socks)]
    shared = {"price": Decimal("10") - INCREMENT, "rung": Decimal("10") - INCREMENT}
    acks: list[float] = []
    sent_at: list[float] = []  # each ack's bid's send, for --timeline
    accepted: list[tuple[Decimal, float, float]] = []  # (price, sent, answered)
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    async def bidder(ws) -> None:
        while time.perf_counter() < deadline:
            if MODE[0] == "ladder":  # the next rung of one shared ladder: nobody bids the same amount
                shared["rung"] += INCREMENT
                amount = max(shared["rung"], shared["price"] + INCREMENT)
                shared["rung"] = amount
            else:  # the app's bid button: one increment over the price this bidder was told of
                amount = shared["price"] + INCREMENT * random.randint(1, SPREAD)
            sent = time.perf_counter()
            await ws.send(json.dumps({"type": "auction.bid", "auction_id": data["lot"], "amount": str(amount)}))
            frame = json.loads(await ws.recv())
            answered = time.perf_counter()
            acks.append((answered - sent) * 1000)
            sent_at.append(sent)
            if frame["type"] == "auction.bid.accepted":
                price = Decimal(frame["accepted_amount"])
                accepted.append((price, sent, answered))
                shared["price"] = max(shared["price"], price)
            else:
                errors[frame.get("code", "?")] = errors.get(frame.get("code", "?"), 0) + 1
                if frame.get("minimum"):  # the floor the server told us of
                    shared["price"] = max(shared["price"], Decimal(frame["minimum"]) - INCREMENT)

    gc.freeze()
    gc.disable()  # the client is the instrument
    print(f"{len(viewer_socks)} viewers in the room; bidding for {seconds:.0f} s", flush=True)
    started = time.perf_counter()
    await asyncio.gather(*(bidder(ws) for ws in bidder_socks))
    elapsed = time.perf_counter() - started
    gc.enable()
    await asyncio.sleep(2)  # the last coalesced frames

    # The hammer: close the lot now (as its task would at ends_at), and wait for the close.
    def hammer() -> None:
        from django.utils import timezone

        from auctions.models import Auction
        from auctions.services import close_lot

        Auction.objects.filter(pk=data["lot"]).update(ends_at=timezone.now())
        close_lot(auction_id=data["lot"])

    await asyncio.to_thread(hammer)
    for _ in range(100):
        if all(closed):
            break
        await asyncio.sleep(0.1)
    for task in readers:
        task.cancel()
    for ws in viewer_socks + bidder_socks:
        await ws.close()

    fan_ack, fan_send, missing = fan_out(accepted, seen)
    final = max((p for p, _s, _a in accepted), default=None)
    return {
        "elapsed": elapsed,
        "accepted": accepted,
        "answered": len(acks),
        "acks": acks,
        "sent_at": sent_at,
        "errors": errors,
        "fan_ack": fan_ack,
        "fan_send": fan_send,
        "missing": missing,
        "final": final,
        "all_show_final": all(prices and prices[-1] == final for _t, prices in seen),
        # Viewers that did not end on the final price: (server port, frames, last prices, out of order)
        "stragglers": [
            (ports[i % len(ports)], len(prices), prices[-3:], sum(b < a for a, b in itertools.pairwise(prices)))
            for i, (_t, prices) in enumerate(seen)
            if not prices or prices[-1] != final
        ],
        "all_closed": all(closed),
        "frames_per_viewer": statistics.median(len(p) for _t, p in seen),
    }


def fan_out(
    accepted: list[tuple[Decimal, float, float]], seen: list[tuple[list[float], list[Decimal]]]
) -> tuple[list[float], list[float], int]:
    """For a sample of accepted bids, the moment the last viewer showed that price or a later
    one: ms after the bid's answer, ms after its send, and how many were never shown."""
    fan_ack, fan_send, missing = [], [], 0
    for price, sent, answered in accepted[:: max(1, len(accepted) // 500)]:
        last = 0.0
        for times, prices in seen:
            at = bisect.bisect_left(prices, price)
            if at == len(prices):
                missing += 1
                break
            last = max(last, times[at])
        else:
            fan_ack.append(max(0.0, last - answered) * 1000)
            fan_send.append((last - sent) * 1000)
    return fan_ack, fan_send, missing


def check_database(lot_id: str, told: list[Decimal]) -> tuple[bool, int]:
    from auctions.models import Auction, Bid

    amounts = list(Bid.objects.filter(auction_id=lot_id).order_by("created_at", "id").values_list("amount", flat=True))
    increasing = all(b > a for a, b in itertools.pairwise(amounts))
    lot = Auction.objects.get(pk=lot_id)
    return increasing and sorted(told) == amounts and lot.current_price == amounts[-1], len(amounts)


def print_timeline(sent_at: list[float], acks: list[float]) -> None:
    """Acknowledgements by the half second their bid was sent: a stall shows as one slow bucket."""
    if not sent_at:
        return
    start = sent_at[0]
    buckets: dict[int, list[float]] = {}
    for sent, ms in zip(sent_at, acks, strict=True):
        buckets.setdefault(int((sent - start) * 2), []).append(ms)
    for bucket, values in sorted(buckets.items()):
        print(
            f"  {bucket / 2:5.1f} s: {len(values):5d} answered, ack p50 {percentile(values, 0.5):6.1f} ms, "
            f"p99 {percentile(values, 0.99):6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--bidders", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument(
        "--mode",
        choices=("button", "ladder"),
        default="button",
        help="button: each bids one increment over the price it was told of (many bid the same amount, "
        "one wins); ladder: each bid is the next rung of one shared ladder (the accept path's capacity)",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also the acknowledgement p50/p99 per half second of the run (where a tail comes from)",
    )
    args = parser.parse_args()
    MODE[0] = args.mode
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ensure_database(DATABASE_URL)
    setup_django(SERVER_ENV, str(ROOT))
    data = seed(args.bidders)
    ports = [PORT + i for i in range(args.servers)]
    servers = [_bench_realtime.start_server(port) for port in ports]
    try:
        result = asyncio.run(run(ports, data, args.viewers, args.seconds))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    rate = len(result["accepted"]) / result["elapsed"]
    acks = result["acks"]
    print(
        f"one lot, {args.viewers} viewers and {args.bidders} bidders ({args.mode} mode) on sockets, "
        f"{args.servers} server process(es), {result['elapsed']:.1f} s of bidding"
    )
    print(
        f"accepted bids: {len(result['accepted'])} = {rate:.0f}/s (target >= 200/s); all bids answered: "
        f"{result['answered'] / result['elapsed']:.0f}/s; refused: {result['errors']}"
    )
    print(
        f"bid acknowledgement: p50 {statistics.median(acks):.1f} ms, "
        f"p99 {percentile(acks, 0.99):.1f} ms (target p99 <= 100 ms); p90 {percentile(acks, 0.9):.1f}, "
        f"p95 {percentile(acks, 0.95):.1f}, p99.9 {percentile(acks, 0.999):.1f} ms"
    )
    if args.timeline:
        print_timeline(result["sent_at"], acks)
    if result["fan_ack"]:
        print(
            f"fan-out, accepted bid's answer -> every viewer shows it (or later): p50 "
            f"{statistics.median(result['fan_ack']):.0f} ms, p99 {percentile(result['fan_ack'], 0.99):.0f} ms "
            f"(target p99 <= 500 ms); from the bid's send: p50 {statistics.median(result['fan_send']):.0f} ms, "
            f"p99 {percentile(result['fan_send'], 0.99):.0f} ms; {len(result['fan_ack'])} bids sampled, "
            f"{result['missing']} never shown; {result['frames_per_viewer']:.0f} bid frames per viewer"
        )
    ok, stored = check_database(data["lot"], [p for p, _s, _a in result["accepted"]])
    print(
        f"database: {stored} accepted bids, strictly increasing and the same as the answers: {ok}; "
        f"every viewer ends on the final price {result['final']}: {result['all_show_final']}; "
        f"every viewer saw the close: {result['all_closed']}"
    )
    if result["stragglers"]:
        print(f"viewers not on the final price: {len(result['stragglers'])}, e.g. {result['stragglers'][:3]}")


if __name__ == "__main__":
    main()
