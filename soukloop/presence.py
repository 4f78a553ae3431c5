"""Who has a channel open right now: written by the socket gateway (``realtime``), read by the
delivery layers (``notifications``: no push for a message the recipient is watching arrive).
A kernel module so that neither of those two sibling layers imports the other.

A mark lives ``PRESENCE_TTL_SECONDS`` (a socket's ping refreshes it), so a socket that dies
without a goodbye stops counting soon after. Best effort: with the cache down, nobody is
watching (pushes go out).
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.cache import cache

from soukloop.cacheerrors import CACHE_UNAVAILABLE

PRESENCE_TTL_SECONDS = 90


def _key(channel: str, user_id: Any) -> str:
    return f"presence:{channel}:{user_id}"


def watching_mark(*, channel: str, user_id: Any) -> None:
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        cache.set(_key(channel, user_id), 1, timeout=PRESENCE_TTL_SECONDS)


def watching_clear(*, channel: str, user_id: Any) -> None:
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        cache.delete(_key(channel, user_id))


def is_watching(*, channel: str, user_id: Any) -> bool:
    try:
        return bool(cache.get(_key(channel, user_id)))
    except CACHE_UNAVAILABLE:
        return False
