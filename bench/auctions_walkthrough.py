"""One live show with two lots, over HTTP and real sockets, printed step by step.

    .venv/bin/python bench/auctions_walkthrough.py

Starts the Stripe stand-in (delivering signed webhooks) and the ASGI app under uvicorn on
loopback, against a PostGIS database and Redis (BENCH_DATABASE_URL, default
postgis://postgres@127.0.0.1:5432/soukloop_walkthrough; BENCH_REDIS_URL, default
redis://127.0.0.1:6379/11). People, the live stream and the listings are made with the ORM;
everything they do is over HTTP or their sockets. The close at the lot's end and the end of
the pay window are what the beat runs (``close_auctions``, ``release_checkouts``); the pay
window is moved instead of waited for (30 minutes).

Lot 1: two bidders (one over the socket, one over REST with a proxy ceiling), a bid in the
last 10 s that extends the lot (anti-sniping), the winner pays through checkout with
``auction_id`` and the stand-in's webhook. Lot 2: the winner does not pay; it counts as a
strike and the host sends the runner-up a second-chance offer, which is accepted and paid.
An anonymous viewer's socket shows what the room saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from payments_walkthrough import call, step
from production_env import ensure_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/soukloop_walkthrough")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    api_port, stripe_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": "walkthrough",
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "STRIPE_WEBHOOK_SECRET": "whsec_soukloop_local",
        "DJANGO_SETTINGS_MODULE": "soukloop.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX", "STRIPE_API_BASE")})
    ensure_database(DATABASE_URL)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    stripe = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "payments.testing.fake_stripe",
            "--port",
            str(stripe_port),
            "--webhook-url",
            f"http://127.0.0.1:{api_port}/api/v1/payments/webhook/",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "soukloop.asgi:application",
            "--port",
            str(api_port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{api_port}/healthz")
        _wait_for(f"http://127.0.0.1:{stripe_port}/v1/")
        asyncio.run(show(f"127.0.0.1:{api_port}", f"http://127.0.0.1:{stripe_port}"))
    finally:
        for process in (server, stripe):
            process.terminate()
            process.wait(10)


async def show(base: str, stripe: str) -> None:  # noqa: C901
    import uuid

    import websockets
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User, VerificationStatus
    from catalog.models import Category, Condition, Product
    from payments.models import Transaction
    from streams.models import Stream, StreamStatus

    run = uuid.uuid4().hex[:6]

    def person(name: str, n: int, **extra) -> User:
        return User.objects.create_user(
            f"{name}_{run}", f"{name}_{run}@example.ae", phone=f"+97155{n}{int(run, 16) % 10**6:06d}", **extra
        )

    host = await asyncio.to_thread(
        person, "host", 1, role="seller", verification_status=VerificationStatus.APPROVED, is_verified=True
    )
    alice = await asyncio.to_thread(person, "alice", 2, is_verified=True)
    bob = await asyncio.to_thread(person, "bob", 3, is_verified=True)

    def setup() -> tuple[Stream, list[Product]]:
        stream = Stream.objects.create(user=host, title="Sneaker night", category="sneakers", status=StreamStatus.LIVE)
        listings = [
            Product.objects.create(
                seller=host, title=title, price=Decimal("50"), category=Category.SNEAKERS, condition=Condition.LIKE_NEW
            )
            for title in ("Jordan 1 Chicago, EU 43", "Yeezy 350 Zebra, EU 42")
        ]
        return stream, listings

    stream, listings = await asyncio.to_thread(setup)
    token = {u: str(AccessToken.for_user(u)) for u in (host, alice, bob)}
    api = f"http://{base}/api/v1"
    room = f"stream:{stream.pk}"
    print(f"setup (ORM): host {host.username} live in stream {stream.pk}; bidders {alice.username}, {bob.username}")

    async def http(method: str, url: str, body: dict | None = None, who: User | None = None) -> tuple[int, dict]:
        return await asyncio.to_thread(call, method, url, body, token[who] if who else None)

    async def connect(who: User | None):
        _s, body = await http("POST", f"{api}/realtime/ticket/", {}, who)
        ws = await websockets.connect(f"ws://{base}/ws/v1/?ticket={body['ticket']}")
        channels = [room, "user"] if who else [room]
        for channel in channels:
            await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
            while json.loads(await ws.recv())["type"] != "subscribed":
                pass
        return ws

    viewer, alice_ws, bob_ws = await connect(None), await connect(alice), await connect(bob)
    room_frames: list[dict] = []

    async def watch() -> None:
        async for raw in viewer:
            frame = json.loads(raw)
            if frame["type"].startswith("auction."):
                room_frames.append(frame)
                print(f"        viewer socket <- {frame['type']} {json.dumps(frame['data'], default=str)}")

    watcher = asyncio.create_task(watch())

    async def next_frame(ws, *types: str) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if frame["type"] in types:
                return frame

    async def lot(product: Product, duration: int) -> str:
        body = {"product_id": str(product.pk), "starting_price": "50", "duration_seconds": duration}
        status, created = await http("POST", f"{api}/streams/{stream.pk}/auctions/", body, host)
        label = f"POST streams/{{id}}/auctions/ (host): {product.title}"
        step(label, status, created, ("id", "status", "bid_increment"))
        status, started = await http("POST", f"{api}/auctions/{created['id']}/start/", {}, host)
        step("POST auctions/{id}/start/ (host)", status, started, ("status", "ends_at"))
        return created["id"]

    async def socket_bid(ws, who: User, lot_id: str, **amount) -> dict:
        await ws.send(json.dumps({"type": "auction.bid", "auction_id": lot_id, "ref": f"{who.username}-1", **amount}))
        answer = await next_frame(ws, "auction.bid.accepted", "error")
        print(f"socket  {who.username} auction.bid {amount} -> {json.dumps(answer)}")
        return answer

    def until_seconds_left(lot_id: str, seconds: float) -> None:
        from auctions.models import Auction

        ends_at = Auction.objects.get(pk=lot_id).ends_at
        time.sleep(max(0.0, (ends_at - timezone.now()).total_seconds() - seconds))

    async def hammer(lot_id: str) -> None:
        def close() -> None:
            from auctions.models import Auction

            ends_at = Auction.objects.get(pk=lot_id).ends_at
            time.sleep(max(0.0, (ends_at - timezone.now()).total_seconds()) + 0.2)
            call_command("close_auctions")

        await asyncio.to_thread(close)
        print("beat    close_auctions (at the lot's end)")
        await asyncio.sleep(0.5)

    async def pay(who: User, intent_source: dict) -> None:
        status, checkout = await http("POST", f"{api}/payments/checkout/", intent_source, who)
        step(
            f"POST payments/checkout/ {intent_source} ({who.username})",
            status,
            checkout,
            ("transaction_id", "amount", "platform_fee", "seller_payout"),
        )
        tx = await asyncio.to_thread(Transaction.objects.get, pk=checkout["transaction_id"])
        step(
            "stand-in: the buyer pays -> signed payment_intent.succeeded to the webhook",
            *await asyncio.to_thread(
                call,
                "POST",
                f"{stripe}/_stand_in/payment_intents/{tx.stripe_payment_intent_id}/succeed",
                {},
                "sk_stand_in",
            ),
            ("type",),
        )
        for _ in range(50):
            await asyncio.sleep(0.1)
            _s, body = await http("GET", f"{api}/transactions/{tx.pk}/", None, who)
            if body.get("status") != "pending":
                break
        step(f"GET transactions/{{id}} ({who.username})", 200, body, ("status", "amount", "platform_fee"))

    print("\n== lot 1: bids over the socket and REST, anti-sniping, the winner pays")
    lot1 = await lot(listings[0], 15)
    await socket_bid(alice_ws, alice, lot1, amount="50")
    status, body = await http("POST", f"{api}/auctions/{lot1}/bids/", {"max_amount": "80"}, bob)
    step(f"POST auctions/{{id}}/bids/ max_amount 80 ({bob.username}, REST)", status, body)
    outbid = await next_frame(alice_ws, "auction.outbid")
    print(f"        {alice.username}'s user channel <- auction.outbid {json.dumps(outbid['data'])}")
    await socket_bid(alice_ws, alice, lot1, amount="60")  # too low: bob's proxy holds 55..80
    await socket_bid(alice_ws, alice, lot1, amount="90")
    await asyncio.to_thread(until_seconds_left, lot1, 7)  # anti-sniping: a bid in the last 10 s
    status, body = await http("POST", f"{api}/auctions/{lot1}/bids/", {"amount": "95"}, bob)
    step(f"POST auctions/{{id}}/bids/ amount 95 ({bob.username}, REST, 7 s before the end)", status, body)
    await socket_bid(alice_ws, alice, lot1, amount="100")
    status, body = await http("GET", f"{api}/auctions/{lot1}/", None, alice)
    step("GET auctions/{id}/ (alice)", status, body, ("status", "current_price", "leader", "bid_count", "ends_at"))
    await hammer(lot1)
    won = await next_frame(alice_ws, "auction.won")
    print(f"        {alice.username}'s user channel <- auction.won {json.dumps(won['data'])}")
    status, body = await http("GET", f"{api}/auctions/{lot1}/", None, alice)
    step("GET auctions/{id}/ (winner)", status, body, ("status", "outcome", "winner", "payment"))
    status, body = await http("POST", f"{api}/payments/checkout/", {"auction_id": lot1}, bob)
    step("POST payments/checkout/ auction_id (bob, not the winner)", status, body)
    await pay(alice, {"auction_id": lot1})
    status, body = await http("GET", f"{api}/auctions/{lot1}/", None, host)
    step("GET auctions/{id}/ (host)", status, body, ("outcome", "winner", "payment"))

    print("\n== lot 2: the winner does not pay; a strike, and a second chance for the runner-up")
    lot2 = await lot(listings[1], 15)
    status, body = await http("POST", f"{api}/auctions/{lot2}/bids/", {"max_amount": "120"}, alice)
    step(f"POST auctions/{{id}}/bids/ max_amount 120 ({alice.username}, REST)", status, body)
    await socket_bid(bob_ws, bob, lot2, amount="150")
    status, body = await http("POST", f"{api}/auctions/{lot2}/second-chance/", {}, host)
    step("POST auctions/{id}/second-chance/ (host, lot still running)", status, body)
    await hammer(lot2)

    def expire() -> None:
        Transaction.objects.filter(source_id=lot2).update(pay_by=timezone.now() - timedelta(seconds=1))
        call_command("release_checkouts")

    await asyncio.to_thread(expire)
    print("beat    release_checkouts (the 30-minute pay window moved to its end)")
    status, body = await http("GET", f"{api}/auctions/{lot2}/", None, host)
    step("GET auctions/{id}/ (host)", status, body, ("outcome", "winner", "payment"))
    status, body = await http("POST", f"{api}/payments/checkout/", {"auction_id": lot2}, bob)
    step("POST payments/checkout/ auction_id (bob, too late)", status, body)
    status, body = await http("GET", f"{api}/notifications/", None, host)
    step("GET notifications/ (host)", status, {"first": (body.get("results") or [{}])[0]}, ("first",))
    lot3 = await lot(
        await asyncio.to_thread(
            Product.objects.create,
            seller=host,
            title="Dunk Low Panda, EU 44",
            price=Decimal("50"),
            category=Category.SNEAKERS,
            condition=Condition.NEW,
        ),
        30,
    )
    await socket_bid(bob_ws, bob, lot3, amount="50")
    status, body = await http("POST", f"{api}/auctions/{lot2}/second-chance/", {}, host)
    step("POST auctions/{id}/second-chance/ (host)", status, body)
    offer_id = body["offer_id"]
    status, body = await http("POST", f"{api}/offers/{offer_id}/accept/", {}, alice)
    step(f"POST offers/{{id}}/accept/ ({alice.username})", status, body, ("status", "counter_price"))
    await pay(alice, {"offer_id": offer_id})
    status, body = await http("POST", f"{api}/auctions/{lot2}/second-chance/", {}, host)
    step("POST auctions/{id}/second-chance/ (host, again)", status, body)

    watcher.cancel()
    for ws in (viewer, alice_ws, bob_ws):
        await ws.close()
    kinds = sorted({frame["type"] for frame in room_frames})
    print(f"\nthe anonymous viewer's socket saw {len(room_frames)} auction frames: {', '.join(kinds)}")


if __name__ == "__main__":
    main()
