"""/metrics: Prometheus text for the dashboards, closed to everyone but Prometheus."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from streams.viewers import uses_redis
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "t" * 40


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one series (0 when absent)."""
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def metrics(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []

    def scrape() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return response.content.decode()

    return scrape


def test_without_the_token_or_an_allowed_address_metrics_is_not_there(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    body = client.get("/metrics").json()
    assert body["errors"][0]["code"] == "not_found"  # the API's error shape, nothing revealed
    settings.METRICS_ALLOWED_IPS = ["127.0.0.0/8"]  # the test client's address
    assert client.get("/metrics").status_code == 200


def test_request_latency_and_query_counts_by_route_template(client, metrics):
    before = metrics()
    route = "^healthz/?$"
    for _ in range(3):
        client.get("/healthz")
    after = metrics()

    seconds = "soukloop_http_request_duration_seconds_count"
    assert sample(after, seconds, route=route, status="200") - sample(before, seconds, route=route, status="200") == 3
    queries = "soukloop_db_queries_per_request_count"
    assert sample(after, queries, route=route) - sample(before, queries, route=route) == 3
    # never the raw path of a detail route: ids would make a series per object
    assert not re.search(r'route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}', after)


def test_business_totals_count_what_happened(metrics):
    cache.delete("metrics:business")
    before = sample(metrics(), "soukloop_business_total", event="signups")
    UserFactory.create_batch(2)
    cache.delete("metrics:business")
    assert sample(metrics(), "soukloop_business_total", event="signups") == before + 2
    for event in ("listings", "checkouts", "checkouts_paid", "payouts_released", "webhooks_not_applied"):
        assert f'soukloop_business_total{{event="{event}"}}' in metrics()


@pytest.mark.skipif(not uses_redis(), reason="needs REDIS_URL (cache statistics and the broker are Redis')")
def test_cache_hits_and_the_celery_queue_depth_are_read_from_redis(metrics, settings):
    import redis

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.METRICS_CELERY_QUEUES = ["soukloop-test-metrics"]
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("soukloop-test-metrics")
    broker.rpush("soukloop-test-metrics", "a", "b", "c")
    try:
        cache.set("metrics-probe", 1)
        hits = sample(metrics(), "soukloop_cache_hits_total")
        cache.get("metrics-probe")
        body = metrics()
        assert sample(body, "soukloop_cache_hits_total") > hits
        assert sample(body, "soukloop_celery_queue_depth", queue="soukloop-test-metrics") == 3
    finally:
        broker.delete("soukloop-test-metrics")


def test_backlogs_the_alerts_watch(metrics, settings):
    from datetime import timedelta

    from django.utils import timezone

    from tests.trust.helpers import completed_sale
    from tests.verification.factories import VerificationFactory

    body = metrics()
    assert sample(body, "soukloop_payouts_overdue") == 0
    assert sample(body, "soukloop_notification_deliveries_dead") == 0
    long_ago = timezone.now() - timedelta(days=settings.PAYOUT_HOLD_DAYS, hours=2)
    completed_sale(buyer=UserFactory(), seller=UserFactory(), completed_at=long_ago)  # release_payouts missed it
    completed_sale(buyer=UserFactory(), seller=UserFactory())  # still within its hold
    completed_sale(buyer=UserFactory(), seller=UserFactory(), completed_at=long_ago, held_for_claim=True)
    assert sample(metrics(), "soukloop_payouts_overdue") == 1
    waiting = VerificationFactory()
    type(waiting).objects.filter(pk=waiting.pk).update(submitted_at=timezone.now() - timedelta(hours=3))
    age = sample(metrics(), "soukloop_verification_oldest_pending_seconds")
    assert 3 * 3600 <= age < 3 * 3600 + 60
