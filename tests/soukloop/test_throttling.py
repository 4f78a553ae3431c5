"""Rate throttles: DRF's rules, counted atomically in Redis (soukloop.throttling)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from soukloop import throttling
from tests.concurrency import run_together

needs_redis = pytest.mark.skipif(
    not settings.CACHES["default"]["BACKEND"].startswith("django_redis."),
    reason="the atomic sliding window runs on Redis; without it DRF's own throttle runs (REDIS_URL=...)",
)


class TwoPerMinute(throttling.AnonRateThrottle):
    rate = "2/min"


class FivePerMinute(throttling.AnonRateThrottle):
    rate = "5/min"


def _request(ip: str = "203.0.113.7"):
    request = APIRequestFactory().get("/api/v1/products/", REMOTE_ADDR=ip)
    request.user = AnonymousUser()
    return request


def _throttle(cls, now: float):
    throttle = cls()
    throttle.timer = lambda: now
    return throttle


def test_the_anonymous_limit_gives_429_with_retry_after(api_client, monkeypatch):
    monkeypatch.setattr(throttling.AnonRateThrottle, "rate", "3/min", raising=False)
    statuses = [api_client.get("/api/v1/categories/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api_client.get("/api/v1/categories/")
    assert refused.json()["errors"][0]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60


@needs_redis
def test_the_window_slides_and_refusals_do_not_count():
    # two requests at t=0 and t=10 fill a 2/min window
    assert _throttle(TwoPerMinute, 1_000.0).allow_request(_request(), None)
    assert _throttle(TwoPerMinute, 1_010.0).allow_request(_request(), None)
    # a third at t=20 is refused until the first leaves the window, at t=60
    refused = _throttle(TwoPerMinute, 1_020.0)
    assert not refused.allow_request(_request(), None)
    assert refused.wait() == pytest.approx(40.0)
    # refusals are not counted: at t=61 one request fits again, the next does not
    assert _throttle(TwoPerMinute, 1_061.0).allow_request(_request(), None)
    assert not _throttle(TwoPerMinute, 1_062.0).allow_request(_request(), None)
    # another caller has a window of its own
    assert _throttle(TwoPerMinute, 1_062.0).allow_request(_request("198.51.100.2"), None)


@needs_redis
def test_concurrent_requests_cannot_overrun_the_limit():
    # twelve requests from one caller at the same instant, five allowed a minute
    results = run_together([lambda: FivePerMinute().allow_request(_request(), None) for _ in range(12)])
    # exactly five get through (a cache get-then-set lets racing requests all read the same count)
    assert results.count(True) == 5
    assert results.count(False) == 7
