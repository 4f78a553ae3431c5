from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from messaging.models import Conversation, Message, MessageType, Offer, OfferStatus
from tests.factories import ProductFactory, UserFactory


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    product = factory.SubFactory(ProductFactory)
    buyer = factory.SubFactory(UserFactory)
    seller = factory.LazyAttribute(lambda o: o.product.seller)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = factory.LazyAttribute(lambda o: o.conversation.buyer)
    message_type = MessageType.TEXT
    content = factory.Sequence(lambda n: f"Message {n}")


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    conversation = factory.SubFactory(ConversationFactory)
    product = factory.LazyAttribute(lambda o: o.conversation.product)
    buyer = factory.LazyAttribute(lambda o: o.conversation.buyer)
    seller = factory.LazyAttribute(lambda o: o.conversation.seller)
    offered_price = Decimal("120.00")
    original_price = factory.LazyAttribute(lambda o: o.product.price)
    status = OfferStatus.PENDING
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))
