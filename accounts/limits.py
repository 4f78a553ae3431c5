"""Atomic, cache-backed counters for throttling people by identifier (not by IP).

Windows are fixed and aligned to the clock (``time.time() // window``): the bucket is part
of the key, so the counter resets when time moves on whatever the cache backend (Redis keeps
its own TTL clock; the key name does not care). Identifiers are hashed before they become
keys, so no phone number or email sits in the cache in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "accounts"


def digest(value: str) -> str:
    """A keyed hash of an identifier: stable, not reversible without SECRET_KEY."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def cache_key(*parts: str) -> str:
    return ":".join((KEY_PREFIX, *parts))


def atomic_incr(key: str, *, timeout: int) -> int:
    """INCR that creates the key (with a TTL) when absent; atomic on Redis and locmem."""
    for _ in range(3):
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            continue
    cache.set(key, 1, timeout=timeout)
    return 1


@dataclass(frozen=True)
class WindowHit:
    count: int
    retry_after: int  # seconds until this window ends


def hit(*, scope: str, identifier: str, window_seconds: int) -> WindowHit:
    """Count one event for ``identifier`` in the current fixed window of ``scope``."""
    now = time.time()
    bucket = int(now // window_seconds)
    key = cache_key(scope, digest(identifier), str(bucket))
    count = atomic_incr(key, timeout=window_seconds + 60)
    retry_after = max(1, math.ceil((bucket + 1) * window_seconds - now))
    return WindowHit(count=count, retry_after=retry_after)


def reset(*, scope: str, identifier: str, window_seconds: int) -> None:
    bucket = int(time.time() // window_seconds)
    cache.delete(cache_key(scope, digest(identifier), str(bucket)))


def lock(*, scope: str, identifier: str, seconds: int) -> None:
    """Lock ``identifier`` for ``seconds``; the deadline is stored, so moved clocks are honoured."""
    cache.set(cache_key(scope, "lock", digest(identifier)), time.time() + seconds, timeout=seconds + 60)


def locked_for(*, scope: str, identifier: str) -> int:
    """Seconds left on a lock, 0 when not locked."""
    until = cache.get(cache_key(scope, "lock", digest(identifier)))
    if until is None:
        return 0
    left = until - time.time()
    return math.ceil(left) if left > 0 else 0


def backoff_wait(*, scope: str, key: str) -> int:
    """Seconds ``key`` must still wait before its next try (0: go ahead)."""
    return locked_for(scope=scope, identifier=key)


def backoff_fail(*, scope: str, key: str, free: int, base_seconds: int, cap_seconds: int, window_seconds: int) -> int:
    """Count a failure of ``key``; from the ``free``-th failure on, each one doubles the wait
    (``base_seconds``, twice that, four times, ... up to ``cap_seconds``). Returns the wait now in force."""
    failures = hit(scope=f"{scope}:n", identifier=key, window_seconds=window_seconds).count
    if failures < free:
        return 0
    seconds = min(cap_seconds, base_seconds * 2 ** min(failures - free, 20))
    lock(scope=scope, identifier=key, seconds=seconds)
    return seconds


def backoff_clear(*, scope: str, key: str, window_seconds: int) -> None:
    reset(scope=f"{scope}:n", identifier=key, window_seconds=window_seconds)
    cache.delete(cache_key(scope, "lock", digest(key)))
