from __future__ import annotations

from collections.abc import Callable

import pytest

from soukloop import events
from soukloop.storage import media_base_url
from tests.payments.conftest import (  # noqa: F401 (fixtures shared with the payments tests)
    checkout,
    fake_stripe,
    onboarded_seller,
    paid,
    post_event,
    product,
)


@pytest.fixture
def published(monkeypatch) -> list[events.Event]:
    """Events published by services (delivered to the sinks after commit; these tests run in
    one transaction that never commits, so they are captured where they are published)."""
    got: list[events.Event] = []
    monkeypatch.setattr(
        events,
        "publish",
        lambda event_type, *, channel, data, using=None: got.append(events.Event(event_type, channel, data)),
    )
    return got


@pytest.fixture
def media() -> Callable[[str], str]:
    return lambda name: f"{media_base_url()}products/{name}.jpg"


@pytest.fixture
def open_claim(auth_client, paid, buyer, media):  # noqa: F811
    """``open_claim(**body)`` → the response of the buyer opening a claim on ``paid``."""

    def make(**body):
        payload = {"reason": "not_as_described", "description": "Scratched screen", "image_urls": [media("b1")]}
        payload.update(body)
        return auth_client(buyer).post(f"/api/v1/transactions/{paid.pk}/claim/", payload, format="json")

    return make
