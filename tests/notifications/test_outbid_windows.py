"""The outbid window (one ``outbid`` per lot per bidder per AUCTION_OUTBID_NOTIFY_SECONDS),
claimed in the shared cache and remembered by the process for the rest of the window."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from notifications import sink
from soukloop.events import Event


@pytest.fixture(autouse=True)
def _fresh_process(settings):
    settings.AUCTION_OUTBID_NOTIFY_SECONDS = 10
    sink._claimed_windows.clear()
    yield
    sink._claimed_windows.clear()


@pytest.fixture
def cache_calls(monkeypatch):
    """Each key the sink asks the shared cache about (one list per round trip)."""
    calls: list[list[str]] = []
    claim = sink._claim_windows

    def counting(keys, seconds):
        calls.append(list(keys))
        return claim(keys, seconds)

    monkeypatch.setattr(sink, "_claim_windows", counting)
    return calls


def window_key(event: Event) -> str | None:
    (key,) = sink._outbid_window_keys([event])
    return key


def outbid(lot: str, user: str, amount: str) -> Event:
    return Event("auction.outbid", f"user:{user}", {"auction_id": lot, "user_id": user, "amount": amount})


def test_within_its_window_a_bidder_is_told_once_and_the_cache_is_asked_once(cache_calls):
    lot, user = str(uuid.uuid4()), str(uuid.uuid4())

    first = window_key(outbid(lot, user, "55.00"))
    later = [window_key(outbid(lot, user, f"{60 + n}.00")) for n in range(20)]

    assert first == f"outbid:{lot}:55.00"
    assert later == [None] * 20
    assert [len(keys) for keys in cache_calls] == [1]  # asked once; the rest remembered


def test_a_new_window_starts_once_the_old_one_is_over(cache_calls):
    lot, user = str(uuid.uuid4()), str(uuid.uuid4())
    assert window_key(outbid(lot, user, "55.00")) is not None

    cache.delete(f"notif:outbid:{lot}:{user}")  # the shared key's 10 s ran out
    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        again = window_key(outbid(lot, user, "90.00"))

    assert again == f"outbid:{lot}:90.00"
    assert len(cache_calls) == 2


def test_a_window_claimed_by_another_process_is_respected_and_remembered(cache_calls):
    lot, user = str(uuid.uuid4()), str(uuid.uuid4())
    cache.set(f"notif:outbid:{lot}:{user}", 1, timeout=10)  # another socket process told them

    assert window_key(outbid(lot, user, "55.00")) is None
    assert window_key(outbid(lot, user, "60.00")) is None
    # with Redis the rest of that window is known (its TTL): no second question
    expected = 1 if hasattr(cache, "ttl") else 2
    assert len(cache_calls) == expected


def test_other_bidders_and_other_lots_have_windows_of_their_own():
    lot, other_lot, user, other_user = (str(uuid.uuid4()) for _ in range(4))
    assert window_key(outbid(lot, user, "55.00")) is not None

    assert window_key(outbid(lot, other_user, "60.00")) is not None
    assert window_key(outbid(other_lot, user, "60.00")) is not None


def test_a_batchs_windows_are_claimed_in_one_round_trip(cache_calls):
    """A busy lot's bidders' windows open together: the batch asks for all of them at once; a
    bidder outbid twice in the batch is told once; one already claimed elsewhere is not told."""
    lot = str(uuid.uuid4())
    users = [str(uuid.uuid4()) for _ in range(50)]
    cache.set(f"notif:outbid:{lot}:{users[0]}", 1, timeout=10)
    batch = [outbid(lot, user, "100.00") for user in users] + [outbid(lot, users[1], "100.00")]

    keys = sink._outbid_window_keys(batch)

    assert keys[0] is None and keys[-1] is None
    assert keys[1:-1] == [f"outbid:{lot}:100.00"] * 49
    assert [len(asked) for asked in cache_calls] == [50]


def test_with_the_cache_down_a_window_is_a_clock_bucket(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(keys, seconds):
        raise RedisConnectionError("redis away")

    monkeypatch.setattr(sink, "_claim_windows", down)
    lot, user = str(uuid.uuid4()), str(uuid.uuid4())
    event = outbid(lot, user, "55.00")
    assert window_key(event) == f"outbid:{lot}:window:{int(event.at.timestamp()) // 10}"
