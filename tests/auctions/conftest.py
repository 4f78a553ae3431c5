"""A live show with a listing to put up, and the payments stand-ins (a local Stripe, signed
webhooks, checkout) for paying won lots."""

import pytest

from auctions.models import Auction
from payments.models import SaleSource, Transaction
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


def won_lot(buyer, status: str) -> Transaction:
    """A lot of another show that ``buyer`` won, its sale in ``status`` (``failed``: a strike)."""
    stream = StreamFactory(status=StreamStatus.LIVE)
    product = ProductFactory(seller=stream.user)
    lot = Auction.objects.create(
        stream=stream, product=product, host=stream.user, starting_price=10, bid_increment=5, duration_seconds=60
    )
    return Transaction.objects.create(
        buyer=buyer,
        seller=stream.user,
        product=product,
        amount=10,
        platform_fee=1,
        seller_payout=9,
        feed_type=product.feed_type,
        status=status,
        source=SaleSource.AUCTION,
        source_id=lot.pk,
    )
