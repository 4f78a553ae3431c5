from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from messaging.models import Conversation, Offer, OfferStatus
from tests.factories import ProductFactory, UserFactory


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    product = factory.SubFactory(ProductFactory)
    buyer = factory.SubFactory(UserFactory)
    seller = factory.SelfAttribute("product.seller")
    conversation = factory.LazyAttribute(
        lambda o: Conversation.objects.get_or_create(buyer=o.buyer, product=o.product, defaults={"seller": o.seller})[0]
    )
    offered_price = Decimal("100.00")
    original_price = factory.SelfAttribute("product.price")
    status = OfferStatus.PENDING
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))
