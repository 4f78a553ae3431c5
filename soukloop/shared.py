"""Values every process may share for a while (the Discover pools, the search walks' bounds):
computed by one process, kept in the cache with the time they stop being good, and remembered
by each process that read them until that time, so a request that needs one usually costs
neither a query nor a cache round trip.

A value is good until ``computed + seconds`` whichever process holds it: a process that reads
it from the cache keeps it only for what is left of that time, never for a fresh period. With
the cache unreachable each process computes and keeps its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

from soukloop.cacheerrors import CACHE_UNAVAILABLE

T = TypeVar("T")

# key -> (good until, as time.time(); value). Bounded: the keys are a small fixed family.
_remembered: dict[str, tuple[float, Any]] = {}
_REMEMBERED_MAX = 1000


def shared_value(key: str, *, seconds: float, compute: Callable[[], T]) -> T:
    """The value under ``key`` while it is good, else ``compute()`` kept for ``seconds``
    (0 or less: computed every time, nothing kept)."""
    if seconds <= 0:
        return compute()
    now = time.time()
    held = _remembered.get(key)
    if held is not None and held[0] > now:
        return held[1]
    try:
        cached = cache.get(key)
    except CACHE_UNAVAILABLE:
        cached = None
    if cached is not None and cached[0] > now:
        until, value = cached
    else:
        until, value = now + seconds, compute()
        with contextlib.suppress(*CACHE_UNAVAILABLE):
            cache.set(key, (until, value), timeout=max(1, int(seconds)))
    if len(_remembered) >= _REMEMBERED_MAX:
        _remembered.clear()
    _remembered[key] = (until, value)
    return value


def forget() -> None:
    """Drop what this process remembers (tests: each starts with an empty cache)."""
    _remembered.clear()
