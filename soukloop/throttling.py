"""DRF's rate throttles, counted atomically in Redis in one round trip.

DRF's throttles keep each caller's request times as a pickled list in the cache: a get and a
set per throttle per request (four round trips for an anonymous request, which both the
``anon`` and the ``user`` throttles count), a list as long as the rate to unpickle and
pickle again, and two concurrent requests can both read the same history and both get
through. With Redis as the cache, the same sliding window is a sorted set per caller
trimmed, counted and added to by one Lua script: atomic, one round trip, whatever the rate.
Without Redis (the embedded default uses the local-memory cache) DRF's own code runs.

The rules are DRF's: a request is refused when the caller already made ``num_requests`` in
the last ``duration`` seconds; refused requests are not counted; ``Retry-After`` is the time
until the oldest counted request leaves the window.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import throttling

from soukloop.cacheerrors import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)

# One or more callers' windows at once: KEYS are the windows; ARGV: now, a unique member, then
# duration and limit for each key in turn. Each window is judged on its own (a refusal there is
# not counted there; an allowance is, whatever the others say, as DRF counts each of a view's
# throttles). Returns, per key, 1 (counted) then 0, or 0 (refused) then its oldest score.
_SLIDING_WINDOWS = """
local now = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
    local duration = tonumber(ARGV[1 + 2 * i])
    local limit = tonumber(ARGV[2 + 2 * i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
    if redis.call('ZCARD', key) >= limit then
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        table.insert(result, 0)
        table.insert(result, oldest[2])
    else
        redis.call('ZADD', key, now, ARGV[2])
        redis.call('EXPIRE', key, math.ceil(duration) + 1)
        table.insert(result, 1)
        table.insert(result, 0)
    end
end
return result
"""

_script: Any = None


def _sliding_windows() -> Any:
    """``_SLIDING_WINDOWS`` registered, or ``None`` when the cache is not Redis."""
    global _script
    if _script is None:
        if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
            _script = False
        else:
            from django_redis import get_redis_connection

            _script = get_redis_connection("default").register_script(_SLIDING_WINDOWS)
    return _script or None


class RedisSlidingWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's ``SimpleRateThrottle`` with the window counted by ``_SLIDING_WINDOWS``. Listed after
    a DRF throttle class, it takes over that class's counting (DRF's ``ScopedRateThrottle``
    picks its scope and rate, then calls this)."""

    # Set by SimpleRateThrottle.__init__ from the rate (the stubs do not declare them).
    num_requests: int
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        script = _sliding_windows()
        if script is None:
            try:
                return super().allow_request(request, view)
            except CACHE_UNAVAILABLE:  # a Redis cache without the script path: same rule, let it through
                logger.warning("Rate limit not checked: the cache is unreachable (scope %s).", self.scope)
                return True
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            result = script(
                keys=[cache.make_key(self.key)],
                args=[repr(self.now), uuid.uuid4().hex, self.duration, self.num_requests],
            )
        except CACHE_UNAVAILABLE:  # Redis down: let the request through rather than fail it
            logger.warning("Rate limit not checked: the cache is unreachable (scope %s).", self.scope)
            return True
        if result[0] == 1:
            self._retry_after = None
            return True
        self._retry_after = max(0.0, float(result[1]) + self.duration - self.now)
        return False

    def wait(self) -> float | None:
        if _sliding_windows() is None:
            return super().wait()
        return self._retry_after


@receiver(setting_changed)
def _forget_script(*, setting: str, **kwargs: Any) -> None:
    """Tests swap the cache (e.g. for an unreachable Redis): look the backend up again."""
    global _script
    if setting == "CACHES":
        _script = None


class AnonRateThrottle(throttling.AnonRateThrottle, RedisSlidingWindowThrottle):
    pass


class UserRateThrottle(throttling.UserRateThrottle, RedisSlidingWindowThrottle):
    pass


class DefaultRateThrottle(throttling.BaseThrottle):
    """The API's default throttles, ``AnonRateThrottle`` then ``UserRateThrottle``, judged as DRF
    judges a view's list of them (each window on its own; refused when any refuses; the longest
    wait), with both windows in one Redis round trip: an anonymous request is counted in both
    (as DRF counts it), which took two. Without Redis, the two classes run one after the other."""

    def __init__(self) -> None:
        self.throttles: list[RedisSlidingWindowThrottle] = [AnonRateThrottle(), UserRateThrottle()]
        self._refused = False
        self._waits: list[float] = []

    def allow_request(self, request: Any, view: Any) -> bool:
        script = _sliding_windows()
        if script is None:
            return self._one_by_one(request, view)
        windows = []
        for throttle in self.throttles:
            if throttle.rate is None:
                continue
            key = throttle.get_cache_key(request, view)
            if key is not None:
                windows.append((throttle, cache.make_key(key)))
        if not windows:
            return True
        now = windows[0][0].timer()
        args: list[Any] = [repr(now), uuid.uuid4().hex]
        for throttle, _key in windows:
            args += [throttle.duration, throttle.num_requests]
        try:
            result = script(keys=[key for _throttle, key in windows], args=args)
        except CACHE_UNAVAILABLE:  # Redis down: let the request through rather than fail it
            logger.warning("Rate limit not checked: the cache is unreachable (default throttles).")
            return True
        self._waits = [
            max(0.0, float(oldest) + throttle.duration - now)
            for (throttle, _key), counted, oldest in zip(windows, result[::2], result[1::2], strict=True)
            if counted != 1
        ]
        self._refused = bool(self._waits)
        return not self._refused

    def _one_by_one(self, request: Any, view: Any) -> bool:
        self._refused, self._waits = False, []
        for throttle in self.throttles:
            if not throttle.allow_request(request, view):
                self._refused = True
                wait = throttle.wait()
                if wait is not None:
                    self._waits.append(wait)
        return not self._refused

    def wait(self) -> float | None:
        return max(self._waits) if self._waits else None


class ScopedRateThrottle(throttling.ScopedRateThrottle, RedisSlidingWindowThrottle):
    pass
