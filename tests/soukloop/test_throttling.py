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


def _default(now: float, *, anon: str, user: str, monkeypatch):
    monkeypatch.setattr(throttling.AnonRateThrottle, "rate", anon, raising=False)
    monkeypatch.setattr(throttling.UserRateThrottle, "rate", user, raising=False)
    throttle = throttling.DefaultRateThrottle()
    for one in throttle.throttles:
        one.timer = lambda: now
    return throttle


def test_the_default_throttles_count_an_anonymous_caller_in_both_windows_as_drf_does(monkeypatch):
    # anon 2/min, user 3/min: two requests fit, the third is refused by the anonymous window
    assert _default(1_000.0, anon="2/min", user="3/min", monkeypatch=monkeypatch).allow_request(_request(), None)
    assert _default(1_001.0, anon="2/min", user="3/min", monkeypatch=monkeypatch).allow_request(_request(), None)
    third = _default(1_002.0, anon="2/min", user="3/min", monkeypatch=monkeypatch)
    assert not third.allow_request(_request(), None)
    assert third.wait() == pytest.approx(58.0)  # until the anonymous window's oldest leaves
    # ...and counted in the user window, which allowed it (DRF counts each throttle that
    # allows): that window now holds three, so it refuses on its own
    user_only = throttling.UserRateThrottle()
    user_only.timer = lambda: 1_003.0
    assert not user_only.allow_request(_request(), None)
    # a minute after the first, both windows have room again
    assert _default(1_060.5, anon="2/min", user="3/min", monkeypatch=monkeypatch).allow_request(_request(), None)


def test_the_default_throttles_hold_a_signed_in_caller_to_the_user_rate(monkeypatch):
    from tests.factories import UserFactory

    request = _request()
    request.user = UserFactory.build()
    results = [
        _default(2_000.0 + i, anon="1/min", user="2/min", monkeypatch=monkeypatch).allow_request(request, None)
        for i in range(3)
    ]
    assert results == [True, True, False]  # the anonymous window does not apply to her


@needs_redis
def test_the_default_throttles_take_one_round_trip(monkeypatch):
    # one script call (one EVALSHA) for both windows
    script, calls = throttling._sliding_windows(), []
    monkeypatch.setattr(throttling, "_sliding_windows", lambda: lambda **kw: calls.append(kw) or script(**kw))

    assert _default(3_000.0, anon="5/min", user="9/min", monkeypatch=monkeypatch).allow_request(_request(), None)
    assert [len(call["keys"]) for call in calls] == [2]


@needs_redis
def test_the_default_throttles_let_requests_through_with_redis_down(monkeypatch, caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr(throttling, "_sliding_windows", lambda: down)
    assert _default(4_000.0, anon="1/min", user="1/min", monkeypatch=monkeypatch).allow_request(_request(), None)
    assert "Rate limit not checked" in caplog.text
