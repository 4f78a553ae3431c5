from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from streams.models import Stream
from tests.streams.factories import HostFactory, StreamFactory


@pytest.fixture
def host(db) -> User:
    return HostFactory(username="hamdan", email="hamdan@example.ae")


@pytest.fixture
def host_client(auth_client, host) -> APIClient:
    return auth_client(host)


@pytest.fixture
def scheduled_stream(host) -> Stream:
    return StreamFactory(user=host)


@pytest.fixture
def go_live(host_client) -> Callable[[Stream], dict]:
    """``go_live(stream)`` → the owner's go-live response body (with the stream key)."""

    def run(stream: Stream) -> dict:
        response = host_client.post(f"/api/v1/streams/{stream.pk}/go-live/")
        assert response.status_code == 200, response.content
        return response.json()

    return run


def rtmp_hook(client: APIClient, hook: str, query: str = "", **fields: str):
    """POST like nginx-rtmp's notify module: form-encoded fields."""
    return client.post(
        f"/api/v1/streams/hooks/{hook}/{query}",
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


@pytest.fixture
def hook_client() -> APIClient:
    """The media server: calls from loopback (APIClient's REMOTE_ADDR), no credentials."""
    return APIClient()


@pytest.fixture
def live_stream(scheduled_stream, go_live, hook_client) -> tuple[Stream, str]:
    """A stream the media server has accepted a publish for; returns (stream, key)."""
    key = go_live(scheduled_stream)["stream_key"]
    response = rtmp_hook(hook_client, "publish", name=key, app="live", call="publish")
    assert response.status_code == 200, response.content
    scheduled_stream.refresh_from_db()
    return scheduled_stream, key
