"""Who is watching a live stream right now, and how many different people ever watched it.

Two implementations with one behaviour:

- ``RedisViewerCounter`` (``REDIS_URL`` set, django-redis): per stream a sorted set
  ``viewer → last seen`` (a viewer not seen for ``STREAM_VIEWER_TTL_SECONDS`` drops out; the
  app re-joins as a heartbeat) and a set of every viewer ever (``total_views``). Each call is
  one MULTI/EXEC round trip, so concurrent joins never lose an update.
- ``LocalViewerCounter`` (the embedded default, local-memory cache): the same state in one
  cache entry per stream, guarded by a process lock (the local-memory cache is per process).

Scores are taken from Python's clock, not Redis's, so the behaviour is the same on both
backends and tests can move time.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from soukloop.cacheerrors import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Idle per-stream keys disappear on their own a day after the last activity.
_KEY_RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ViewerCounts:
    viewer_count: int
    total_views: int


class ViewerCounter(ABC):
    """``join`` (also the heartbeat), ``leave`` and ``counts`` prune viewers not seen for
    STREAM_VIEWER_TTL_SECONDS and answer the current and distinct counts.

    Counting is not worth failing a request for: with Redis unreachable they answer ``None``
    (unknown) and callers fall back to the counts stored on the stream row, so a host can
    still end a show and a viewer still gets its details (security review, finding 10)."""

    def join(self, *, stream_id: str, viewer_id: str) -> ViewerCounts | None:
        return self._soft(lambda: self._update(stream_id, viewer_id, joining=True))

    def leave(self, *, stream_id: str, viewer_id: str) -> ViewerCounts | None:
        return self._soft(lambda: self._update(stream_id, viewer_id, joining=False))

    def counts(self, *, stream_id: str) -> ViewerCounts | None:
        return self._soft(lambda: self._update(stream_id, None, joining=False))

    def claim_persist_soft(self, *, stream_id: str, interval_seconds: int) -> bool:
        return bool(self._soft(lambda: self.claim_persist(stream_id=stream_id, interval_seconds=interval_seconds)))

    def forget_soft(self, *, stream_id: str) -> None:
        self._soft(lambda: self.forget(stream_id=stream_id))

    @staticmethod
    def _soft(call: Callable[[], _T]) -> _T | None:
        try:
            return call()
        except CACHE_UNAVAILABLE:
            logger.warning("viewer counts unavailable: Redis unreachable")
            return None

    @abstractmethod
    def _update(self, stream_id: str, viewer_id: str | None, *, joining: bool) -> ViewerCounts:
        """Add (joining) or remove ``viewer_id`` (if any), prune, and count: one atomic step."""

    @abstractmethod
    def claim_persist(self, *, stream_id: str, interval_seconds: int) -> bool:
        """True at most once per ``interval_seconds``: the caller then writes counts to the row."""

    @abstractmethod
    def forget(self, *, stream_id: str) -> None: ...


def _ttl() -> int:
    return settings.STREAM_VIEWER_TTL_SECONDS


class RedisViewerCounter(ViewerCounter):
    def __init__(self) -> None:
        from django_redis import get_redis_connection

        self.redis = get_redis_connection("default")

    @staticmethod
    def _keys(stream_id: str) -> tuple[str, str, str]:
        # cache.make_key applies settings.CACHE_KEY_PREFIX (and the version), so these raw
        # keys live in this deployment's namespace like every other cache entry.
        base = f"streams:viewers:{stream_id}"
        watching, seen, persisted_at = (
            cache.make_key(f"{base}:{part}") for part in ("watching", "seen", "persisted_at")
        )
        return watching, seen, persisted_at

    def _update(self, stream_id: str, viewer_id: str | None, *, joining: bool) -> ViewerCounts:
        watching, viewers, _persisted = self._keys(stream_id)
        now = time.time()
        pipe = self.redis.pipeline(transaction=True)
        if viewer_id is not None and joining:
            pipe.zadd(watching, {viewer_id: now})
            pipe.sadd(viewers, viewer_id)
        elif viewer_id is not None:
            pipe.zrem(watching, viewer_id)
        pipe.zremrangebyscore(watching, "-inf", f"({now - _ttl()}")
        pipe.zcard(watching)
        pipe.scard(viewers)
        if joining:
            pipe.expire(watching, _KEY_RETENTION_SECONDS)
            pipe.expire(viewers, _KEY_RETENTION_SECONDS)
            results = pipe.execute()[:-2]
        else:
            results = pipe.execute()
        return ViewerCounts(viewer_count=int(results[-2]), total_views=int(results[-1]))

    def claim_persist(self, *, stream_id: str, interval_seconds: int) -> bool:
        _watching, _viewers, persisted = self._keys(stream_id)
        now = time.time()
        last = self.redis.get(persisted)
        if last is not None and now - float(last) < interval_seconds:
            return False
        self.redis.set(persisted, repr(now), ex=_KEY_RETENTION_SECONDS)
        return True

    def forget(self, *, stream_id: str) -> None:
        self.redis.delete(*self._keys(stream_id))


class LocalViewerCounter(ViewerCounter):
    _lock = threading.Lock()

    @staticmethod
    def _key(stream_id: str) -> str:
        return f"streams:viewers:{stream_id}"

    def _update(self, stream_id: str, viewer_id: str | None, *, joining: bool) -> ViewerCounts:
        now = time.time()
        with self._lock:
            state = cache.get(self._key(stream_id)) or {"watching": {}, "viewers": set(), "persisted_at": None}
            if viewer_id is not None and joining:
                state["watching"][viewer_id] = now
                state["viewers"].add(viewer_id)
            elif viewer_id is not None:
                state["watching"].pop(viewer_id, None)
            cutoff = now - _ttl()
            state["watching"] = {v: seen for v, seen in state["watching"].items() if seen >= cutoff}
            cache.set(self._key(stream_id), state, timeout=_KEY_RETENTION_SECONDS)
            return ViewerCounts(viewer_count=len(state["watching"]), total_views=len(state["viewers"]))

    def claim_persist(self, *, stream_id: str, interval_seconds: int) -> bool:
        now = time.time()
        with self._lock:
            state = cache.get(self._key(stream_id)) or {"watching": {}, "viewers": set(), "persisted_at": None}
            last = state["persisted_at"]
            if last is not None and now - last < interval_seconds:
                return False
            state["persisted_at"] = now
            cache.set(self._key(stream_id), state, timeout=_KEY_RETENTION_SECONDS)
            return True

    def forget(self, *, stream_id: str) -> None:
        cache.delete(self._key(stream_id))


def uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")


def get_viewer_counter() -> ViewerCounter:
    return RedisViewerCounter() if uses_redis() else LocalViewerCounter()
