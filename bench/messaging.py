"""Quick loopback benchmark: conversation list and message list p50 next to /healthz.

Serves the app with gunicorn on 127.0.0.1:8104 against a PostGIS database (created and
migrated if needed, seeded once), then times sequential requests from one client:

    .venv/bin/python bench/messaging.py [--requests 200] [--conversations 60] [--messages 200]

Environment: BENCH_DATABASE_URL (default postgis://postgres@127.0.0.1:5432/soukloop_messaging_e2e),
BENCH_PORT (default 8104). Prints p50/p95 in milliseconds per endpoint.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from production_env import ensure_database, production_like_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/soukloop_messaging_e2e")
PORT = int(os.environ.get("BENCH_PORT", "8104"))
SERVER_ENV = production_like_env(
    DATABASE_URL=DATABASE_URL,
    ALLOWED_HOSTS="127.0.0.1",
    VAR_DIR=str(ROOT / "var" / "bench"),
    REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    CACHE_KEY_PREFIX="messaging_bench",
)


def seed(*, conversations: int, messages: int) -> tuple[str, str]:
    """The bench buyer with ``conversations`` chats, the first holding ``messages`` messages.
    Returns (access token, busiest conversation id). Seeds once; reruns reuse the data."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.gis.geos import Point
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Role, User
    from catalog.models import Category, Condition, Product
    from messaging.models import Conversation, Message

    buyer, created = User.objects.get_or_create(
        username="bench_buyer", defaults={"email": "bench_buyer@example.ae", "role": Role.BUYER}
    )
    if created or not Conversation.objects.filter(buyer=buyer).exists():
        with transaction.atomic():
            now = timezone.now()
            for i in range(conversations):
                seller, _ = User.objects.get_or_create(
                    username=f"bench_seller_{i}",
                    defaults={"email": f"bench_seller_{i}@example.ae", "role": Role.SELLER},
                )
                product = Product.objects.create(
                    seller=seller,
                    title=f"Bench listing {i}",
                    price=Decimal("149.00"),
                    category=Category.SNEAKERS,
                    condition=Condition.GOOD,
                    location=Point(55.1403, 25.0805, srid=4326),
                    image_urls=[f"http://127.0.0.1:{PORT}/media/bench/{i}.jpg"],
                )
                conversation = Conversation.objects.create(buyer=buyer, seller=seller, product=product)
                count = messages if i == 0 else 5
                rows = Message.objects.bulk_create(
                    Message(
                        conversation=conversation,
                        sender=seller if n % 2 else buyer,
                        content=f"Message {n} about listing {i}",
                    )
                    for n in range(count)
                )
                for n, row in enumerate(rows):  # distinct, increasing times
                    row.created_at = now - timedelta(minutes=(conversations - i) * 1000 - n)
                Message.objects.bulk_update(rows, ["created_at"])
                last = rows[-1]
                Conversation.objects.filter(pk=conversation.pk).update(
                    last_message=last, last_message_at=last.created_at, buyer_unread_count=count // 2
                )
    busiest = Conversation.objects.filter(buyer=buyer, product__title="Bench listing 0").values_list("pk", flat=True)[0]
    return str(AccessToken.for_user(buyer)), str(busiest)


def timed_get(url: str, token: str | None) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} → {response.status}")
    return (time.perf_counter() - start) * 1000


def wait_until_up(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            timed_get(f"{base}/healthz", None)
            return
        except (urllib.error.URLError, ConnectionError, RuntimeError):
            time.sleep(0.2)
    raise SystemExit("server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=20)
    args = parser.parse_args()

    ensure_database(DATABASE_URL)
    setup_django(SERVER_ENV, str(ROOT))
    token, conversation_id = seed(conversations=args.conversations, messages=args.messages)

    env = {**os.environ, **SERVER_ENV, "GUNICORN_BIND": f"127.0.0.1:{PORT}", "GUNICORN_WORKERS": "2"}
    env["GUNICORN_ACCESSLOG"] = "/dev/null"
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "soukloop.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_until_up(base)
        endpoints = {
            "/healthz": (f"{base}/healthz", None),
            "GET /api/v1/conversations/": (f"{base}/api/v1/conversations/?page_size={args.page_size}", token),
            "GET /api/v1/conversations/{id}/messages/": (
                f"{base}/api/v1/conversations/{conversation_id}/messages/?page_size={args.page_size}",
                token,
            ),
        }
        for url, tok in endpoints.values():  # warm connections and caches
            for _ in range(10):
                timed_get(url, tok)
        samples: dict[str, list[float]] = {name: [] for name in endpoints}
        for _ in range(args.requests):  # interleaved, so load drift hits every endpoint alike
            for name, (url, tok) in endpoints.items():
                samples[name].append(timed_get(url, tok))
        print(
            f"{args.requests} sequential requests each, page_size={args.page_size}, "
            f"{args.conversations} conversations, {args.messages} messages in the busiest; gunicorn 2 sync workers"
        )
        for name, values in samples.items():
            q = statistics.quantiles(values, n=20)
            print(f"{name:45s} p50 {statistics.median(values):6.2f} ms   p95 {q[18]:6.2f} ms")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
