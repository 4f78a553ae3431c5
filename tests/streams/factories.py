from __future__ import annotations

import factory

from accounts.models import VerificationStatus
from catalog.models import Category
from streams.models import Stream, StreamProduct, StreamStatus
from tests.factories import ProductFactory, SellerFactory


class HostFactory(SellerFactory):
    """A seller whose identity check is approved: may schedule and go live."""

    verification_status = VerificationStatus.APPROVED


class StreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stream

    user = factory.SubFactory(HostFactory)
    title = factory.Sequence(lambda n: f"Sneaker drop #{n}")
    description = "Rare pairs, live from the Marina."
    category = Category.SNEAKERS
    status = StreamStatus.SCHEDULED


class StreamProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StreamProduct

    stream = factory.SubFactory(StreamFactory)
    product = factory.LazyAttribute(lambda o: ProductFactory(seller=o.stream.user))
    x = 0.5
    y = 0.5
