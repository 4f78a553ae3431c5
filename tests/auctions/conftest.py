"""A live show with a listing to put up, and the payments stand-ins (a local Stripe, signed
webhooks, checkout) for paying won lots."""

import pytest

from streams.models import StreamStatus
from tests.factories import ProductFactory
from tests.payments.conftest import checkout, fake_stripe, post_event  # noqa: F401  (fixtures)
from tests.streams.factories import StreamFactory


@pytest.fixture
def live(db):
    """A live stream and one of its host's listings."""
    stream = StreamFactory(status=StreamStatus.LIVE)
    product = ProductFactory(seller=stream.user)
    return stream, product
