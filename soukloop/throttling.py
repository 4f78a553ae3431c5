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

# KEYS[1]: the caller's window; ARGV: now, duration (s), limit, a unique member.
# Returns {1} when counted, or {0, oldest} when refused.
_SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, oldest[2]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(duration) + 1)
return {1}
"""

_script: Any = None


def _sliding_window() -> Any:
    """The registered script, or ``None`` when the cache is not Redis."""
    global _script
    if _script is None:
        if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
            _script = False
        else:
            from django_redis import get_redis_connection

            _script = get_redis_connection("default").register_script(_SLIDING_WINDOW)
    return _script or None


class RedisSlidingWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's ``SimpleRateThrottle`` with the window counted by ``_SLIDING_WINDOW``. Listed after
    a DRF throttle class, it takes over that class's counting (DRF's ``ScopedRateThrottle``
    picks its scope and rate, then calls this)."""

    # Set by SimpleRateThrottle.__init__ from the rate (the stubs do not declare them).
    num_requests: int
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        script = _sliding_window()
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
                args=[repr(self.now), self.duration, self.num_requests, uuid.uuid4().hex],
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
        if _sliding_window() is None:
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


class ScopedRateThrottle(throttling.ScopedRateThrottle, RedisSlidingWindowThrottle):
    pass
