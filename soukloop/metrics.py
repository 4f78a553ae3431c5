"""``GET /metrics``: Prometheus text format (prometheus-client), for the dashboards and alerts of
docs/operations.md.

Per process, collected as requests run (``MetricsMiddleware``, inside ``RequestLogMiddleware``):
- ``soukloop_http_request_duration_seconds{method,route,status}`` — a histogram by route
  *template* (never the path: ids would explode the series);
- ``soukloop_db_queries_per_request{route}`` — a histogram of SQL statements per request;
- ``soukloop_realtime_sockets`` — open WebSockets (realtime calls ``sockets_opened/closed``).

Read at scrape time, so they are the same whichever process answers:
- ``soukloop_cache_hits_total`` / ``soukloop_cache_misses_total`` — Redis' own keyspace
  counters (the cache's server; absent on the local-memory cache);
- ``soukloop_celery_queue_depth{queue}`` — messages waiting in the broker's Redis list;
- gauges the apps register (``register_gauge``): ``soukloop_payouts_overdue`` (payments),
  ``soukloop_verification_oldest_pending_seconds`` (verification),
  ``soukloop_notification_deliveries_dead`` (notifications);
- ``soukloop_business_total{event}`` — sign-ups, listings, checkouts (paid), payouts
  (released), webhooks recorded but not applied: counts of the rows that record them (cached
  15 s). Rejected webhooks (bad signature) are the 400s of the webhook route above.

With several worker processes (gunicorn), set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory: per-process series are then written there and summed on scrape.

Access: a ``Authorization: Bearer <METRICS_TOKEN>`` header, or a client address in
``METRICS_ALLOWED_IPS`` (addresses or networks; loopback by default). Anything else gets 404,
as if there were nothing here.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from soukloop.clientip import client_ip

logger = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "soukloop_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERIES = Histogram(
    "soukloop_db_queries_per_request",
    "SQL statements run to answer a request, by route template.",
    ["route"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
SOCKETS = Gauge("soukloop_realtime_sockets", "Open WebSockets of /ws/v1/.", multiprocess_mode="livesum")


def sockets_opened() -> None:
    SOCKETS.inc()


def sockets_closed() -> None:
    SOCKETS.dec()


class MetricsMiddleware:
    """Times each request and counts its SQL statements (``connection.execute_wrapper``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = 0

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None) or "(unmatched)"
        REQUEST_SECONDS.labels(request.method or "", route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        QUERIES.labels(route).observe(queries)
        return response


# --- read at scrape time -------------------------------------------------------------------------

# (event, app label, model, filter) — the rows that record each business event.
BUSINESS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("signups", "accounts", "User", {}),
    ("listings", "catalog", "Product", {}),
    ("checkouts", "payments", "Transaction", {}),
    ("checkouts_paid", "payments", "Transaction", {"completed_at__isnull": False}),
    ("payouts_released", "payments", "Transaction", {"payout_released_at__isnull": False}),
    # recorded but not applied (unknown transaction, mismatch): a redelivery retries them
    ("webhooks_not_applied", "payments", "StripeEvent", {"applied": False}),
)


def _business_counts() -> dict[str, int]:
    cached = cache.get("metrics:business")
    if cached is not None:
        return dict(cached)
    counts: dict[str, int] = {}
    for event, app_label, model_name, filters in BUSINESS:
        try:
            model = apps.get_model(app_label, model_name)
            counts[event] = model._default_manager.filter(**filters).count()
        except Exception:  # a renamed field must not take the whole endpoint down
            logger.warning("metrics: cannot count %s", event)
    cache.set("metrics:business", counts, timeout=15)
    return counts


def _redis_client() -> Any:
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


class ScrapeCollector(Collector):
    def collect(self) -> Iterator[Any]:
        business = CounterMetricFamily("soukloop_business", "Business events so far, by event.", labels=["event"])
        for event, value in _business_counts().items():
            business.add_metric([event], value)
        yield business
        try:
            redis = _redis_client()
            if redis is not None:
                stats = redis.info("stats")
                yield CounterMetricFamily(
                    "soukloop_cache_hits", "Cache (Redis) lookups that found a key.", value=stats["keyspace_hits"]
                )
                yield CounterMetricFamily(
                    "soukloop_cache_misses", "Cache (Redis) lookups that found none.", value=stats["keyspace_misses"]
                )
        except Exception:
            logger.warning("metrics: Redis unreachable for cache statistics")
        for name, (help_text, read) in list(_gauges.items()):
            try:
                yield GaugeMetricFamily(name, help_text, value=float(read()))
            except Exception:
                logger.warning("metrics: cannot read %s", name)
        depth = GaugeMetricFamily("soukloop_celery_queue_depth", "Tasks waiting in the broker.", labels=["queue"])
        try:
            for queue, waiting in _celery_queues().items():
                depth.add_metric([queue], waiting)
        except Exception:
            logger.warning("metrics: broker unreachable for queue depth")
        yield depth


def _celery_queues() -> dict[str, int]:
    broker = settings.CELERY_BROKER_URL
    if not broker or not broker.startswith(("redis://", "rediss://")):
        return {}
    import redis

    client = redis.Redis.from_url(broker, socket_timeout=1, socket_connect_timeout=1)
    try:
        return {queue: int(client.llen(queue)) for queue in settings.METRICS_CELERY_QUEUES}
    finally:
        client.close()


_scrape = ScrapeCollector()

# Gauges the apps register in their AppConfig.ready() (the kernel knows none of them): each is
# read at scrape time, e.g. payments' overdue payouts, verification's queue age.
_gauges: dict[str, tuple[str, Callable[[], float]]] = {}


def register_gauge(name: str, help_text: str, read: Callable[[], float]) -> None:
    _gauges[name] = (help_text, read)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return registry


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_IPS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    scraped = CollectorRegistry()
    scraped.register(_scrape)
    body = generate_latest(_registry()) + generate_latest(scraped)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
