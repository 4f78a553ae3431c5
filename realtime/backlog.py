"""A bounded per-channel backlog of the frames sent, for replay on reconnect.

Every event delivered to a channel gets the next number of that channel (its ``event_id``,
a decimal string) and is kept, the newest ``REALTIME_BACKLOG_EVENTS`` (200) and for at most
``REALTIME_BACKLOG_SECONDS`` (10 minutes). A client that reconnects with ``last_event_id``
gets every frame after it, or ``None`` (→ a ``resync`` frame) when some of them are gone.

Two implementations with one behaviour, like streams' viewer counter:
- ``RedisBacklog`` (``REDIS_URL``): a counter and a list per channel, appended by one Lua
  script, so numbers and list order agree across processes;
- ``LocalBacklog`` (embedded default): one cache entry per channel under a process lock.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

# The counter outlives the backlog so numbers never restart under a connected client.
_SEQ_RETENTION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Entry:
    seq: int
    at: float
    text: str  # the frame, serialised once for every socket


def _window() -> int:
    return settings.REALTIME_BACKLOG_SECONDS


def _limit() -> int:
    return settings.REALTIME_BACKLOG_EVENTS


def with_event_id(frame_json: str, seq: int) -> str:
    """Insert ``"event_id"`` into a serialised frame that ends with ``}``."""
    return frame_json[:-1] + f', "event_id": "{seq}"}}'


def _missed(entries: list[Entry], *, last: int, current: int) -> list[Entry] | None:
    if last == current:
        return []
    if last > current:
        return None  # the client knows a future: the counter was lost (Redis flushed)
    cutoff = time.time() - _window()
    missed = [e for e in entries if e.seq > last and e.at >= cutoff]
    if not missed or missed[0].seq != last + 1:
        return None
    return missed


class Backlog(ABC):
    @abstractmethod
    def append(self, channel: str, frame_json: str) -> Entry:
        """Number ``frame_json`` (a JSON object without ``event_id``), keep it, return it."""

    def append_many(self, items: list[tuple[str, str]]) -> list[Entry]:
        """``append`` for several ``(channel, frame_json)``, in order."""
        return [self.append(channel, frame_json) for channel, frame_json in items]

    @abstractmethod
    def since(self, channel: str, last_event_id: int) -> list[Entry] | None:
        """Frames after ``last_event_id`` in order, or None when the backlog no longer has them all."""


_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('RPUSH', KEYS[2], seq .. '|' .. ARGV[1] .. '|' .. ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return seq
"""


class RedisBacklog(Backlog):
    # The append script by its SHA (EVALSHA, reloaded by redis-py if Redis forgot it), per client.
    _scripts: dict[int, Any] = {}

    def __init__(self) -> None:
        from django_redis import get_redis_connection

        self.redis = get_redis_connection("default")
        script = self._scripts.get(id(self.redis))
        if script is None or script.registered_client is not self.redis:
            script = self._scripts[id(self.redis)] = self.redis.register_script(_APPEND)
        self.append_script = script

    @staticmethod
    def _keys(channel: str) -> list[str]:
        return [cache.make_key(f"realtime:backlog:{channel}:{part}") for part in ("seq", "frames")]

    def append(self, channel: str, frame_json: str) -> Entry:
        now = time.time()
        seq = int(
            self.append_script(
                keys=self._keys(channel), args=[repr(now), frame_json, _limit(), _SEQ_RETENTION_SECONDS, _window()]
            )
        )
        return Entry(seq=seq, at=now, text=with_event_id(frame_json, seq))

    def append_many(self, items: list[tuple[str, str]]) -> list[Entry]:
        """The appends in one round trip (a pipeline, not a transaction: each script is atomic
        on its own channel, which is all the numbering needs). The script goes as text, not by
        its SHA: redis-py checks a pipeline's scripts with an extra round trip first."""
        if len(items) == 1:
            return [self.append(*items[0])]
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        limit, window = _limit(), _window()
        for channel, frame_json in items:
            pipe.eval(_APPEND, 2, *self._keys(channel), repr(now), frame_json, limit, _SEQ_RETENTION_SECONDS, window)
        seqs = pipe.execute()
        return [
            Entry(seq=int(seq), at=now, text=with_event_id(frame_json, int(seq)))
            for seq, (_channel, frame_json) in zip(seqs, items, strict=True)
        ]

    def since(self, channel: str, last_event_id: int) -> list[Entry] | None:
        seq_key, frames_key = self._keys(channel)
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(seq_key)
        pipe.lrange(frames_key, 0, -1)
        current, raw = pipe.execute()
        entries = []
        for item in raw:
            seq, at, frame = item.decode().split("|", 2)
            entries.append(Entry(seq=int(seq), at=float(at), text=with_event_id(frame, int(seq))))
        return _missed(entries, last=last_event_id, current=int(current or 0))


class LocalBacklog(Backlog):
    _lock = threading.Lock()

    @staticmethod
    def _key(channel: str) -> str:
        return f"realtime:backlog:{channel}"

    def append(self, channel: str, frame_json: str) -> Entry:
        with self._lock:
            state = cache.get(self._key(channel)) or {"seq": 0, "entries": []}
            seq = state["seq"] + 1
            entry = Entry(seq=seq, at=time.time(), text=with_event_id(frame_json, seq))
            state = {"seq": seq, "entries": [*state["entries"], entry][-_limit() :]}
            cache.set(self._key(channel), state, timeout=_SEQ_RETENTION_SECONDS)
            return entry

    def since(self, channel: str, last_event_id: int) -> list[Entry] | None:
        state = cache.get(self._key(channel)) or {"seq": 0, "entries": []}
        return _missed(state["entries"], last=last_event_id, current=state["seq"])


def get_backlog() -> Backlog:
    if settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return RedisBacklog()
    return LocalBacklog()


def dumps(frame: dict) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(frame, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(", ", ": "))
