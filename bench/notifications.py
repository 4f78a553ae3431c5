"""Go-live fan-out benchmark: a seller with 50,000 followers (each with one device) goes live.

    .venv/bin/python bench/notifications.py [--followers 50000] [--batch 1000]

On a PostGIS database of its own (``<BENCH_DATABASE_URL>``, created and migrated once), it runs
``fan_out_followed_live`` the way a worker runs it: the fan-out task pages through the
follow rows and enqueues one ``notify_followers`` task per batch; each batch task writes
its inbox rows and push deliveries in one transaction. Deliveries are then sent by other
workers in parallel; the script times a sample of them on this one process. Prints the
number of batch tasks, each batch's duration (p50/max), the whole fan-out, rows written, and
the per-delivery time, next to the target (nothing blocks: the request that made the stream
live returns before any of this; no single task runs long).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from production_env import ensure_database  # noqa: E402

DEFAULT_DB = "postgis://postgres@127.0.0.1:5432/soukloop_notifications_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=2000, help="deliveries to send and time")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soukloop.settings")
    os.environ["REDIS_URL"] = ""  # eager tasks, local-memory cache: the database is what is measured
    os.environ["PUSH_BACKEND"] = "notifications.push.LocmemPushBackend"
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "--noinput", verbosity=0)
    settings.NOTIFY_FANOUT_BATCH = args.batch
    from accounts.models import Follow, User
    from notifications import services, tasks
    from notifications.models import Delivery, Device, Notification
    from soukloop.celery import app

    app.conf.task_always_eager = True
    host = _seed(args.followers, User, Follow, Device)
    Notification.objects.filter(kind="followed_live").delete()

    durations: list[float] = []
    original = tasks.notify_followers.delay
    queued: list[list[str]] = []

    def timed_delay(user_ids: list[str], *rest: str) -> None:
        queued.append(user_ids)
        started = time.perf_counter()
        original(user_ids, *rest)
        durations.append(time.perf_counter() - started)

    sent_later: list = []
    services_enqueue = services.enqueue_deliveries
    services.enqueue_deliveries = sent_later.extend  # other workers send them; timed below
    tasks.notify_followers.delay = timed_delay
    started = time.perf_counter()
    try:
        batches = tasks.fan_out_followed_live(f"bench-{time.time_ns()}", str(host.pk), host.username, "Sneaker drop")
    finally:
        tasks.notify_followers.delay = original
        services.enqueue_deliveries = services_enqueue
    total = time.perf_counter() - started
    rows = Notification.objects.filter(kind="followed_live").count()
    deliveries = len(sent_later)

    sample = sent_later[: args.sample]
    started = time.perf_counter()
    for delivery_id in sample:
        services.delivery_attempt(delivery_id=delivery_id)
    per_delivery = (time.perf_counter() - started) / max(1, len(sample))
    sent = Delivery.objects.filter(pk__in=sample, status="sent").count()

    print(f"\n{args.followers:,} followers, batches of {args.batch:,}; PostgreSQL {connection.pg_version // 10000}")
    print(f"batch tasks enqueued      {batches:>10}   (target: {-(-args.followers // args.batch)})")
    print(f"batch task p50 / max      {statistics.median(durations) * 1000:>7.0f} ms / {max(durations) * 1000:.0f} ms")
    print(f"whole fan-out, 1 process  {total:>8.1f} s    (spread over N workers: about {total:.1f}/N s)")
    print(f"inbox rows written        {rows:>10,}")
    print(f"push deliveries queued    {deliveries:>10,}")
    print(f"one delivery sent         {per_delivery * 1000:>7.2f} ms   ({sent:,} of {len(sample):,} sent)")


def _seed(followers: int, User, Follow, Device):
    host, _ = User.objects.get_or_create(
        username="bench_host", defaults={"email": "bench_host@example.ae", "phone": "+971509999999"}
    )
    have = Follow.objects.filter(following=host).count()
    if have >= followers:
        return host
    users = [
        User(username=f"bench_f{i}", email=f"bench_f{i}@example.ae", phone=None, password="!")  # noqa: S106 (an unusable password)
        for i in range(have, followers)
    ]
    User.objects.bulk_create(users, batch_size=5000, ignore_conflicts=True)
    fans = list(User.objects.filter(username__startswith="bench_f").values_list("pk", flat=True))
    Follow.objects.bulk_create(
        [Follow(follower_id=pk, following=host) for pk in fans], batch_size=5000, ignore_conflicts=True
    )
    Device.objects.bulk_create(
        [Device(user_id=pk, platform="android", token=f"bench-{pk}") for pk in fans],
        batch_size=5000,
        ignore_conflicts=True,
    )
    return host


if __name__ == "__main__":
    main()
