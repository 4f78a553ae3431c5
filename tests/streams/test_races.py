"""Concurrent requests on PostgreSQL with real threads and real row locks."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from streams.models import StreamProduct, StreamStatus
from streams.viewers import ViewerCounts, get_viewer_counter, uses_redis
from tests.concurrency import CONNECTION_HUNGRY, run_together
from tests.factories import ProductFactory, UserFactory
from tests.streams.factories import HostFactory, StreamFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), CONNECTION_HUNGRY]


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def test_concurrent_pins_leave_exactly_one_pinned():
    # given a host pinning 6 listings at the same moment
    host = HostFactory()
    stream = StreamFactory(user=host)
    products = [ProductFactory(seller=host) for _ in range(6)]
    url = f"/api/v1/streams/{stream.pk}/products/"

    def pin(product):
        return lambda: (
            _client(host).post(url, {"product_id": str(product.pk), "x": 0.5, "y": 0.5, "pinned": True}).status_code
        )

    statuses = run_together([pin(p) for p in products])
    # then every request succeeded and exactly one tag is pinned
    assert statuses == [201] * 6
    assert StreamProduct.objects.filter(stream=stream).count() == 6
    assert StreamProduct.objects.filter(stream=stream, pinned=True).count() == 1


def _publish(key: str) -> int:
    return (
        APIClient()
        .post(
            "/api/v1/streams/hooks/publish/",
            data=urlencode({"name": key}),
            content_type="application/x-www-form-urlencoded",
        )
        .status_code
    )


def test_end_racing_publish_never_resurrects_an_ended_stream():
    host = HostFactory()
    for _ in range(5):
        # given a live stream whose host ends it while the media server re-publishes
        stream = StreamFactory(user=host)
        key = _client(host).post(f"/api/v1/streams/{stream.pk}/go-live/").json()["stream_key"]
        assert _publish(key) == 200

        def end(stream=stream):
            return _client(host).post(f"/api/v1/streams/{stream.pk}/end/").status_code

        # when both land at once
        statuses = run_together([lambda key=key: _publish(key), end, lambda key=key: _publish(key)])
        # then the end wins whatever the order: publishes after it are refused, not reviving it
        assert statuses[1] == 200
        assert set(statuses[::2]) <= {200, 403}
        stream.refresh_from_db()
        assert stream.status == StreamStatus.ENDED
        assert stream.ended_at is not None and stream.duration_seconds is not None


@pytest.mark.skipif(not uses_redis(), reason="needs REDIS_URL (viewer sets shared between threads)")
def test_concurrent_joins_lose_no_viewer():
    # given 16 people opening the same live stream at the same moment
    host = HostFactory()
    stream = StreamFactory(user=host, status=StreamStatus.LIVE)
    viewers = [UserFactory() for _ in range(16)]
    url = f"/api/v1/streams/{stream.pk}/join/"
    results = run_together([lambda v=v: _client(v).post(url).json() for v in viewers])
    # then every join counted, and the last answer saw all of them
    assert max(r["viewer_count"] for r in results) == 16
    assert get_viewer_counter().counts(stream_id=str(stream.pk)) == ViewerCounts(viewer_count=16, total_views=16)
