"""The per-channel backlog: numbers and replay, for single appends and a batch's appends
(one round trip on Redis) alike."""

from __future__ import annotations

import json

import pytest

from realtime.backlog import get_backlog


def frame(n: int) -> str:
    return json.dumps({"type": "auction.outbid", "data": {"n": n}})


def test_a_batch_numbers_each_channel_on_from_where_it_was_and_replays_in_order():
    backlog = get_backlog()
    backlog.append("user:a", frame(0))  # user:a is at 1 already

    entries = backlog.append_many([("user:a", frame(1)), ("user:b", frame(2)), ("user:a", frame(3))])

    assert [entry.seq for entry in entries] == [2, 1, 3]
    assert [json.loads(entry.text)["event_id"] for entry in entries] == ["2", "1", "3"]
    assert [json.loads(e.text)["data"]["n"] for e in backlog.since("user:a", 1)] == [1, 3]
    assert [json.loads(e.text)["data"]["n"] for e in backlog.since("user:b", 0)] == [2]
    # and single appends go on after the batch
    assert backlog.append("user:a", frame(4)).seq == 4


@pytest.mark.parametrize("size", [1, 2, 50])
def test_a_batch_of_any_size_keeps_every_frame(size):
    backlog = get_backlog()

    entries = backlog.append_many([("stream:s", frame(n)) for n in range(size)])

    assert [entry.seq for entry in entries] == list(range(1, size + 1))
    assert len(backlog.since("stream:s", 0)) == size
