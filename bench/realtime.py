"""Realtime gateway benchmark on PostGIS + Redis, side by side in one run.

Starts the ASGI app under uvicorn (one process, then two) on loopback, mints socket tickets
in this process (the same Redis), and measures with the ``websockets`` client:

- idle sockets held by one process, with the server's memory per socket;
- one chat message fanned out to a ``--viewers`` room: time until every socket has it
  (p50/p99 over ``--messages`` sends), one process, then the room split over two;
- a direct message from the REST send to the other participant's socket, next to the REST
  call alone (p50).

    .venv/bin/python bench/realtime.py [--idle 5000] [--viewers 2000] [--messages 100] [--dms 50] [--deflate]

The servers run as production does (soukloop/workers.py): sans-I/O websockets, no
permessage-deflate (``--deflate`` turns it on for comparison). The client reads every socket
with one task for the whole run, matches the marker in the raw text, and runs without its
garbage collector while timing (it is the instrument, not the system measured).

Environment: BENCH_DATABASE_URL (default postgis://postgres@127.0.0.1:5432/soukloop_realtime),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/11), BENCH_PORT (default 8110; 8111 too),
BENCH_TRACE=1 prints every message's figures in order (REST call, first and last arrival).
Each server's log is var/bench-realtime-<port>.log.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import secrets
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from production_env import ensure_database, production_like_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/soukloop_realtime")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PORT = int(os.environ.get("BENCH_PORT", "8110"))
SERVER_ENV = production_like_env(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    CACHE_KEY_PREFIX="realtime-bench",
    ALLOWED_HOSTS="127.0.0.1",
    THROTTLE_USER="100000/min",
    THROTTLE_ANON="100000/min",
    VAR_DIR=str(ROOT / "var" / "bench"),
)


def seed() -> dict:
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User, VerificationStatus
    from messaging.services import conversation_get_or_create
    from streams.models import Stream, StreamStatus
    from tests.factories import ProductFactory, UserFactory

    def user(name: str) -> User:
        found = User.objects.filter(username=name).first()
        return found or UserFactory(username=name, email=f"{name}@bench.soukloop.ae")

    host, buyer = user("bench_host"), user("bench_buyer")
    User.objects.filter(pk=host.pk).update(verification_status=VerificationStatus.APPROVED)
    stream = Stream.objects.create(user=host, title="Bench show", category="sneakers", status=StreamStatus.LIVE)
    conversation, _created = conversation_get_or_create(buyer=buyer, product=ProductFactory(seller=host))
    return {
        "stream": str(stream.pk),
        "conversation": str(conversation.pk),
        "host": host,
        "buyer": buyer,
        "host_token": str(AccessToken.for_user(host)),
        "buyer_token": str(AccessToken.for_user(buyer)),
    }


DEFLATE = ["false"]
LOGS = ROOT / "var"  # each server's log, for when a request fails


def start_server(port: int) -> subprocess.Popen:
    LOGS.mkdir(exist_ok=True)
    env = {**os.environ, **SERVER_ENV}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "soukloop.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--ws",
            "websockets-sansio",
            "--backlog",
            "8192",
            "--ws-per-message-deflate",
            DEFLATE[0],
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(LOGS / f"bench-realtime-{port}.log").open("w"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("uvicorn did not come up")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tickets(n: int, user=None) -> list[str]:
    from realtime.tickets import ticket_issue

    return [ticket_issue(user=user).ticket for _ in range(n)]


async def open_room(ports: list[int], room: str, n: int, batch: int = 200) -> list:
    """``n`` sockets subscribed to ``room``, spread over ``ports``; tickets are minted per batch
    (they live 60 s). Sockets that fail to open are left out (the caller reports the count)."""
    import websockets

    async def one(i: int, ticket: str):
        ws = await websockets.connect(
            f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/v1/?ticket={ticket}",
            ping_interval=None,
            open_timeout=120,
            max_queue=None,
        )
        await ws.send(json.dumps({"type": "subscribe", "channel": room}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        return ws

    socks = []
    for start in range(0, n, batch):
        batch_tickets = await asyncio.to_thread(tickets, min(batch, n - start))
        opened = await asyncio.gather(*(one(i, t) for i, t in enumerate(batch_tickets, start)), return_exceptions=True)
        socks += [ws for ws in opened if not isinstance(ws, BaseException)]
    return socks


async def drain_until(ws, frame_type: str, marker: str) -> float:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == frame_type and marker in json.dumps(frame["data"]):
            return time.perf_counter()


def post(url: str, token: str, body: dict) -> float:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


async def fan_out(ports: list[int], data: dict, viewers: int, messages: int) -> tuple[float, float, float]:
    room = f"stream:{data['stream']}"
    opened = time.perf_counter()
    socks = await open_room(ports, room, viewers)
    connect_seconds = time.perf_counter() - opened
    await asyncio.sleep(1.5)
    for ws in socks:  # drop the join-time viewer-count frames
        while True:
            try:
                await asyncio.wait_for(ws.recv(), timeout=0.001)
            except TimeoutError:
                break
    # One reader per socket for the whole run; it matches the marker in the raw text (the
    # client is one Python process for 2,000 sockets: parsing every frame would time the client).
    expected: dict[str, asyncio.Future] = {}
    arrivals: dict[str, list[float]] = {}

    async def reader(ws) -> None:
        async for raw in ws:
            marker = raw[raw.find('"text": "bench-') + 9 :].partition('"')[0] if '"text": "bench-' in raw else ""
            times = arrivals.get(marker)
            if times is not None:
                times.append(time.perf_counter())
                if len(times) == len(socks):
                    expected[marker].set_result(None)

    readers = [asyncio.create_task(reader(ws)) for ws in socks]
    # The client is the measuring instrument: its own full collections over 2,000 sockets would
    # show up as the server's latency.
    gc.freeze()
    gc.disable()
    spreads, posts, firsts = [], [], []
    for i in range(messages):
        marker = f"bench-{secrets.token_hex(4)}-{i}"
        arrivals[marker] = []
        expected[marker] = asyncio.get_running_loop().create_future()
        sent = time.perf_counter()
        posted = await asyncio.to_thread(
            post,
            f"http://127.0.0.1:{ports[0]}/api/v1/streams/{data['stream']}/chat/",
            data["host_token"],
            {"text": marker},
        )
        await asyncio.wait_for(expected[marker], timeout=60)
        posts.append(posted * 1000)
        firsts.append((min(arrivals[marker]) - sent) * 1000)
        spreads.append((max(arrivals.pop(marker)) - sent) * 1000)
    gc.enable()
    for task in readers:
        task.cancel()
    if os.environ.get("BENCH_TRACE"):  # every message's figures, in order
        print("spreads in order:", " ".join(f"{x:.0f}" for x in spreads), flush=True)
        print("posts in order:  ", " ".join(f"{x:.0f}" for x in posts), flush=True)
        print("first arrival:   ", " ".join(f"{x:.0f}" for x in firsts), flush=True)
    for ws in socks:
        await ws.close()
    spreads.sort()
    return statistics.median(spreads), spreads[max(0, int(len(spreads) * 0.99) - 1)], connect_seconds


async def dm_latency(port: int, data: dict, sends: int) -> tuple[float, float]:
    import websockets

    ticket = (await asyncio.to_thread(tickets, 1, data["host"]))[0]
    url = f"http://127.0.0.1:{port}/api/v1/conversations/{data['conversation']}/messages/"
    socket_ms, rest_ms = [], []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/?ticket={ticket}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": f"conversation:{data['conversation']}"}))
        await ws.recv()
        for i in range(sends):
            marker = f"dm-{secrets.token_hex(4)}-{i}"
            wait = asyncio.create_task(drain_until(ws, "message.created", marker))
            sent = time.perf_counter()
            rest = await asyncio.to_thread(post, url, data["buyer_token"], {"message_type": "text", "content": marker})
            socket_ms.append((await wait - sent) * 1000)
            rest_ms.append(rest * 1000)
    return statistics.median(socket_ms), statistics.median(rest_ms)


async def idle(port: int, pid: int, data: dict, n: int) -> tuple[int, float]:
    """Idle sockets: signed in with a ticket and answering pings, subscribed to nothing that
    sends (a room with a live show is the fan-out measurement, not idle: its viewer counts
    alone are a frame per socket per second)."""
    import websockets

    async def one(ticket: str):
        return await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/v1/?ticket={ticket}", ping_interval=None, open_timeout=120, max_queue=None
        )

    before = rss_mb(pid)
    socks = []
    for start in range(0, n, 500):
        batch = await asyncio.to_thread(tickets, min(500, n - start))
        opened = await asyncio.gather(*(one(t) for t in batch), return_exceptions=True)
        socks += [ws for ws in opened if not isinstance(ws, BaseException)]
    for ws in socks[:: max(1, len(socks) // 50)]:  # a sample still answers
        await ws.send(json.dumps({"type": "ping"}))
        if json.loads(await ws.recv())["type"] != "pong":
            raise RuntimeError("an idle socket did not answer its ping")
    await asyncio.sleep(2)
    after = rss_mb(pid)
    held = sum(1 for ws in socks if ws.state.name == "OPEN")
    for ws in socks:
        await ws.close()
    return held, (after - before) * 1024 / max(held, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=100, help="chat messages timed (p99 needs ~100)")
    parser.add_argument("--dms", type=int, default=50)
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on (production serves it off)")
    args = parser.parse_args()
    DEFLATE[0] = "true" if args.deflate else "false"
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ensure_database(DATABASE_URL)
    setup_django(SERVER_ENV, str(ROOT))
    data = seed()
    servers = [start_server(PORT)]
    try:
        held, kb = asyncio.run(idle(PORT, servers[0].pid, data, args.idle))
        print(f"idle sockets held by one process: {held} of {args.idle} (target >= 5,000), {kb:.0f} KB per socket")
        time.sleep(10)  # let the server finish closing the idle sockets before timing anything
        p50, p99, took = asyncio.run(fan_out([PORT], data, args.viewers, args.messages))
        print(
            f"fan-out to {args.viewers} viewers, one process: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
            f"(target p99 <= 500 ms); room joined in {took:.1f} s"
        )
        dm, rest = asyncio.run(dm_latency(PORT, data, args.dms))
        print(
            f"DM REST send -> other side's socket: p50 {dm:.1f} ms; REST call alone p50 {rest:.1f} ms "
            f"({dm / rest:.2f}x, target <= 3x)"
        )
        servers.append(start_server(PORT + 1))
        p50, p99, took = asyncio.run(fan_out([PORT, PORT + 1], data, args.viewers, args.messages))
        print(f"fan-out to {args.viewers} viewers over two processes: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
