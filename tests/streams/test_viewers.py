"""Viewer counting: join/leave, repeated joins, TTL expiry, distinct total views, persistence.

The API tests run on whichever cache the suite is configured with (local memory embedded,
Redis with REDIS_URL); the counter tests below run each implementation directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from streams.models import StreamStatus
from streams.viewers import LocalViewerCounter, RedisViewerCounter, uses_redis
from tests.factories import UserFactory
from tests.streams.conftest import rtmp_hook
from tests.streams.factories import StreamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/streams/"


def test_join_and_leave_report_viewer_count(live_stream, auth_client):
    stream, _key = live_stream
    alice, bob = auth_client(UserFactory()), auth_client(UserFactory())
    assert alice.post(f"{URL}{stream.pk}/join/").json() == {"viewer_count": 1, "total_views": 1}
    assert bob.post(f"{URL}{stream.pk}/join").json() == {"viewer_count": 2, "total_views": 2}
    assert alice.post(f"{URL}{stream.pk}/leave/").json() == {"viewer_count": 1, "total_views": 2}
    # leaving twice is harmless
    assert alice.post(f"{URL}{stream.pk}/leave").json() == {"viewer_count": 1, "total_views": 2}


def test_repeated_joins_count_one_viewer_and_one_view(live_stream, auth_client):
    stream, _key = live_stream
    alice = auth_client(UserFactory())
    for _ in range(5):
        response = alice.post(f"{URL}{stream.pk}/join/")
    assert response.json() == {"viewer_count": 1, "total_views": 1}
    # leaving and coming back is still one distinct viewer
    alice.post(f"{URL}{stream.pk}/leave/")
    assert alice.post(f"{URL}{stream.pk}/join/").json() == {"viewer_count": 1, "total_views": 1}


def test_viewer_who_stops_heartbeating_drops_out(live_stream, auth_client, settings):
    settings.STREAM_VIEWER_TTL_SECONDS = 60
    stream, _key = live_stream
    alice, bob = auth_client(UserFactory()), auth_client(UserFactory())
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        alice.post(f"{URL}{stream.pk}/join/")
        bob.post(f"{URL}{stream.pk}/join/")
        traveller.shift(timedelta(seconds=45))
        alice.post(f"{URL}{stream.pk}/join/")  # alice's heartbeat; bob's app vanished
        traveller.shift(timedelta(seconds=30))  # bob last seen 75 s ago, alice 30 s ago
        carol = auth_client(UserFactory())
        response = carol.post(f"{URL}{stream.pk}/join/")
    assert response.json() == {"viewer_count": 2, "total_views": 3}


def test_detail_shows_current_viewer_count(live_stream, auth_client, api_client, settings):
    settings.STREAM_VIEWER_TTL_SECONDS = 60
    stream, _key = live_stream
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")
        assert api_client.get(f"{URL}{stream.pk}/").json()["viewer_count"] == 1
        traveller.shift(timedelta(seconds=61))
        body = api_client.get(f"{URL}{stream.pk}/").json()
    assert body["viewer_count"] == 0
    assert body["total_views"] == 1


def test_host_is_not_their_own_viewer(live_stream, host_client):
    stream, _key = live_stream
    assert host_client.post(f"{URL}{stream.pk}/join/").json() == {"viewer_count": 0, "total_views": 0}


def test_join_requires_login_and_a_live_stream(api_client, auth_client, buyer):
    scheduled = StreamFactory()
    assert api_client.post(f"{URL}{scheduled.pk}/join/").status_code == 401
    response = auth_client(buyer).post(f"{URL}{scheduled.pk}/join/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "stream_not_live"


def test_counts_persist_to_the_row_periodically(live_stream, auth_client, settings):
    settings.STREAM_VIEWER_PERSIST_SECONDS = 15
    stream, _key = live_stream
    viewers = [auth_client(UserFactory()) for _ in range(3)]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        viewers[0].post(f"{URL}{stream.pk}/join/")  # first change: written through
        stream.refresh_from_db()
        assert (stream.viewer_count, stream.total_views) == (1, 1)
        viewers[1].post(f"{URL}{stream.pk}/join/")  # within 15 s: Redis/cache only
        stream.refresh_from_db()
        assert stream.viewer_count == 1
        traveller.shift(timedelta(seconds=16))
        viewers[2].post(f"{URL}{stream.pk}/join/")  # next window: written again
    stream.refresh_from_db()
    assert (stream.viewer_count, stream.total_views) == (3, 3)


def test_counts_persist_at_the_end(live_stream, auth_client, hook_client):
    stream, key = live_stream
    for _ in range(4):
        auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")
    rtmp_hook(hook_client, "publish-done", name=key)
    stream.refresh_from_db()
    assert stream.status == StreamStatus.ENDED
    assert stream.total_views == 4
    assert stream.viewer_count == 0
    # after the end, joining is refused and leaving reports the final figures
    viewer = auth_client(UserFactory())
    assert viewer.post(f"{URL}{stream.pk}/join/").status_code == 409
    assert viewer.post(f"{URL}{stream.pk}/leave/").json() == {"viewer_count": 0, "total_views": 4}


def test_sync_writes_current_counts_of_a_live_stream(live_stream, auth_client, settings):
    from streams.services import stream_viewers_sync

    settings.STREAM_VIEWER_PERSIST_SECONDS = 3600
    stream, _key = live_stream
    auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")
    auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")  # not yet on the row
    stream_viewers_sync(stream=stream)
    stream.refresh_from_db()
    assert (stream.viewer_count, stream.total_views) == (2, 2)


def test_sync_command(live_stream, auth_client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.STREAM_VIEWER_PERSIST_SECONDS = 3600
    stream, _key = live_stream
    auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")
    auth_client(UserFactory()).post(f"{URL}{stream.pk}/join/")
    out = StringIO()
    call_command("sync_stream_viewers", stdout=out)
    stream.refresh_from_db()
    if uses_redis():
        assert (stream.viewer_count, stream.total_views) == (2, 2)
        assert "1 live stream" in out.getvalue()
    else:
        # a cron process cannot see the server's local memory: it must not zero the row
        assert (stream.viewer_count, stream.total_views) == (1, 1)
        assert "nothing to sync" in out.getvalue()


# --- both implementations, same behaviour ---------------------------------------------------------


def _counters():
    params = [pytest.param(LocalViewerCounter, id="local-memory")]
    params.append(
        pytest.param(
            RedisViewerCounter,
            id="redis",
            marks=pytest.mark.skipif(not uses_redis(), reason="needs REDIS_URL (the django-redis cache)"),
        )
    )
    return params


@pytest.fixture(params=_counters())
def counter(request, settings):
    settings.STREAM_VIEWER_TTL_SECONDS = 30
    return request.param()


def test_counter_behaviour(counter):
    stream_id = "5d7b0c57-0000-4000-8000-000000000001"
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert counter.join(stream_id=stream_id, viewer_id="a").viewer_count == 1
        assert counter.join(stream_id=stream_id, viewer_id="a").viewer_count == 1
        counts = counter.join(stream_id=stream_id, viewer_id="b")
        assert (counts.viewer_count, counts.total_views) == (2, 2)
        traveller.shift(timedelta(seconds=20))
        counter.join(stream_id=stream_id, viewer_id="a")
        traveller.shift(timedelta(seconds=15))  # b silent for 35 s > 30 s TTL
        counts = counter.counts(stream_id=stream_id)
        assert (counts.viewer_count, counts.total_views) == (1, 2)
        counts = counter.leave(stream_id=stream_id, viewer_id="a")
        assert (counts.viewer_count, counts.total_views) == (0, 2)
        # persistence claims: one per interval
        assert counter.claim_persist(stream_id=stream_id, interval_seconds=10) is True
        assert counter.claim_persist(stream_id=stream_id, interval_seconds=10) is False
        traveller.shift(timedelta(seconds=11))
        assert counter.claim_persist(stream_id=stream_id, interval_seconds=10) is True
    counter.forget(stream_id=stream_id)
    assert counter.counts(stream_id=stream_id).total_views == 0


def test_counters_keep_streams_apart(counter):
    counter.join(stream_id="s1", viewer_id="a")
    assert counter.counts(stream_id="s2").viewer_count == 0
    counter.forget(stream_id="s1")


@pytest.mark.skipif(not uses_redis(), reason="needs REDIS_URL (the django-redis cache)")
def test_redis_keys_carry_the_cache_prefix(settings):
    from django_redis import get_redis_connection

    counter = RedisViewerCounter()
    counter.join(stream_id="prefixed", viewer_id="a")
    keys = [k.decode() for k in get_redis_connection("default").keys(f"{settings.CACHE_KEY_PREFIX}:*prefixed*")]
    assert keys and all(k.startswith(f"{settings.CACHE_KEY_PREFIX}:") for k in keys)
    counter.forget(stream_id="prefixed")
