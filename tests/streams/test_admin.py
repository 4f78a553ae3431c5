"""The moderators' stream screens: no key anywhere, and an action to take a stream off air."""

from __future__ import annotations

import pytest
from django.test import Client

from streams.models import StreamStatus
from tests.streams.factories import StreamFactory, StreamProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def test_moderator_sees_stream_without_its_key(admin_client, live_stream):
    stream, key = live_stream
    StreamProductFactory(stream=stream)
    for url in (
        "/admin/streams/stream/",
        f"/admin/streams/stream/{stream.pk}/change/",
        "/admin/streams/streamproduct/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert key not in response.content.decode()
        assert stream.stream_key not in response.content.decode()
    assert stream.title in admin_client.get("/admin/streams/stream/").content.decode()


def test_moderator_ends_live_streams_from_the_admin(admin_client, live_stream):
    stream, _key = live_stream
    scheduled = StreamFactory()
    response = admin_client.post(
        "/admin/streams/stream/",
        {"action": "end_streams", "_selected_action": [str(stream.pk), str(scheduled.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    stream.refresh_from_db()
    scheduled.refresh_from_db()
    assert stream.status == scheduled.status == StreamStatus.ENDED
    assert stream.duration_seconds is not None
