"""Ops command: end_stale_streams."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from streams.models import StreamStatus
from tests.streams.factories import StreamFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("end_stale_streams", *args, stdout=out)
    return out.getvalue()


def test_ends_only_live_streams_silent_for_n_minutes():
    now = timezone.now()
    silent = StreamFactory(
        status=StreamStatus.LIVE, started_at=now - timedelta(hours=1), last_heartbeat_at=now - timedelta(minutes=11)
    )
    never_beat = StreamFactory(status=StreamStatus.LIVE, started_at=now - timedelta(minutes=20))
    fresh = StreamFactory(
        status=StreamStatus.LIVE, started_at=now - timedelta(hours=2), last_heartbeat_at=now - timedelta(minutes=1)
    )
    scheduled = StreamFactory(scheduled_for=now - timedelta(days=1))
    with time_machine.travel(now, tick=False):
        output = _run("--minutes", "10")
    assert "Ended 2 stale stream(s)." in output
    for stream in (silent, never_beat, fresh, scheduled):
        stream.refresh_from_db()
    assert silent.status == never_beat.status == StreamStatus.ENDED
    assert silent.ended_at == now and silent.duration_seconds == 3600
    assert fresh.status == StreamStatus.LIVE
    assert scheduled.status == StreamStatus.SCHEDULED


def test_is_idempotent():
    StreamFactory(status=StreamStatus.LIVE, started_at=timezone.now() - timedelta(minutes=30))
    assert "Ended 1 stale" in _run("--minutes", "5")
    assert "Ended 0 stale" in _run("--minutes", "5")


def test_refuses_nonsense_minutes():
    with pytest.raises(CommandError):
        _run("--minutes", "0")
