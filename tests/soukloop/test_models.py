"""Database constraints hold the invariants even when code forgets to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Block, Follow
from catalog.models import Product
from messaging.models import Conversation, Offer
from payments.models import Transaction
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rejected(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_product_price_must_be_positive(seller):
    assert _rejected(lambda: ProductFactory(seller=seller, price=Decimal("0.00")))
    assert _rejected(lambda: ProductFactory(seller=seller, price=Decimal("-1.00")))


def test_product_category_must_be_one_of_the_twelve(seller):
    assert _rejected(lambda: ProductFactory(seller=seller, category="weapons"))


def test_counters_cannot_go_negative(seller):
    product = ProductFactory(seller=seller)
    assert _rejected(lambda: Product.objects.filter(pk=product.pk).update(like_count=-1))


def test_email_and_username_are_unique_whatever_the_case():
    UserFactory(username="Omar", email="omar@example.ae")
    assert _rejected(lambda: UserFactory(username="omar", email="other@example.ae"))
    assert _rejected(lambda: UserFactory(username="other", email="OMAR@example.ae"))


def test_cannot_follow_or_block_oneself(buyer):
    assert _rejected(lambda: Follow.objects.create(follower=buyer, following=buyer))
    assert _rejected(lambda: Block.objects.create(blocker=buyer, blocked=buyer))


def test_conversation_is_unique_per_buyer_and_product_and_never_with_oneself(buyer, seller):
    product = ProductFactory(seller=seller)
    Conversation.objects.create(buyer=buyer, seller=seller, product=product)
    assert _rejected(lambda: Conversation.objects.create(buyer=buyer, seller=seller, product=product))
    assert _rejected(lambda: Conversation.objects.create(buyer=seller, seller=seller, product=product))


def _offer(conversation, **kw) -> Offer:
    defaults = {
        "conversation": conversation,
        "product": conversation.product,
        "buyer": conversation.buyer,
        "seller": conversation.seller,
        "offered_price": Decimal("100.00"),
        "original_price": conversation.product.price,
        "expires_at": timezone.now() + timedelta(hours=48),
    }
    defaults.update(kw)
    return Offer.objects.create(**defaults)


def test_offer_price_must_be_positive_and_one_open_offer_per_buyer(buyer, seller):
    product = ProductFactory(seller=seller)
    conversation = Conversation.objects.create(buyer=buyer, seller=seller, product=product)
    assert _rejected(lambda: _offer(conversation, offered_price=Decimal("0")))
    _offer(conversation)
    assert _rejected(lambda: _offer(conversation))
    _offer(conversation, status="declined")  # closed offers do not count


def _transaction(product, buyer, **kw) -> Transaction:
    defaults = {
        "buyer": buyer,
        "seller": product.seller,
        "product": product,
        "amount": Decimal("100.00"),
        "platform_fee": Decimal("10.00"),
        "seller_payout": Decimal("90.00"),
        "feed_type": product.feed_type,
    }
    defaults.update(kw)
    return Transaction.objects.create(**defaults)


def test_a_product_is_never_held_or_sold_twice(buyer, seller):
    product = ProductFactory(seller=seller)
    other = UserFactory()
    _transaction(product, buyer)
    assert _rejected(lambda: _transaction(product, other))
    Transaction.objects.filter(product=product).update(status="failed")
    _transaction(product, other)  # a failed checkout freed the item


def test_fee_plus_payout_must_equal_amount_and_buyer_is_not_seller(buyer, seller):
    product = ProductFactory(seller=seller)
    assert _rejected(lambda: _transaction(product, buyer, seller_payout=Decimal("80.00")))
    assert _rejected(lambda: _transaction(product, seller))
