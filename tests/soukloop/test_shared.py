"""Values shared by every process for a while (soukloop.shared): computed once, read from the
process's own memory while good, never kept past the time the first computation set."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from soukloop import shared


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(shared.time, "time", clock)
    return clock


def counting(values):
    calls = []

    def compute():
        calls.append(1)
        return values[len(calls) - 1]

    return compute, calls


def test_computed_once_then_remembered_without_asking_the_cache(clock, monkeypatch):
    compute, calls = counting(["first", "second"])
    assert shared.shared_value("k", seconds=30, compute=compute) == "first"

    asked = []
    monkeypatch.setattr(shared.cache, "get", lambda *a, **kw: asked.append(a))
    clock.now += 29
    assert shared.shared_value("k", seconds=30, compute=compute) == "first"
    assert (len(calls), asked) == (1, [])


def test_after_its_time_the_value_is_computed_again(clock):
    compute, calls = counting(["first", "second"])
    shared.shared_value("k", seconds=30, compute=compute)
    clock.now += 30

    assert shared.shared_value("k", seconds=30, compute=compute) == "second"
    assert len(calls) == 2


def test_another_process_keeps_it_only_for_what_is_left_of_its_time(clock):
    compute, calls = counting(["first", "second", "third"])
    shared.shared_value("k", seconds=30, compute=compute)  # "process A" at t
    shared.forget()  # "process B": nothing in its memory, the cache has it
    clock.now += 20

    assert shared.shared_value("k", seconds=30, compute=compute) == "first"  # from the cache
    clock.now += 10  # t + 30: over for B too, not at t + 50
    assert shared.shared_value("k", seconds=30, compute=compute) == "second"
    assert len(calls) == 2


def test_zero_seconds_computes_every_time_and_keeps_nothing(clock):
    compute, _calls = counting(["first", "second"])
    assert shared.shared_value("k", seconds=0, compute=compute) == "first"
    assert shared.shared_value("k", seconds=0, compute=compute) == "second"
    assert cache.get("k") is None


def test_with_the_cache_unreachable_each_process_computes_and_keeps_its_own(clock, monkeypatch):
    from django_redis.cache import RedisCache

    unreachable = RedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}
    )
    monkeypatch.setattr(shared, "cache", unreachable)
    compute, calls = counting(["first", "second"])

    assert shared.shared_value("k", seconds=30, compute=compute) == "first"
    assert shared.shared_value("k", seconds=30, compute=compute) == "first"
    assert len(calls) == 1
