"""Price drops reach the people who liked a listing: batched, once per listing per person per
day, never its seller, nobody in a block with the seller (either way), nothing for a sold or
removed listing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Block
from catalog import services
from catalog.models import ProductLike
from notifications import tasks
from notifications.models import Notification
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(seller):
    return ProductFactory(seller=seller, title="Jordan 1 Retro", price=Decimal("1000.00"))


@pytest.fixture
def fans(listing):
    people = UserFactory.create_batch(5)
    for person in people:
        ProductLike.objects.create(product=listing, user=person)
    return people


def reprice(auth_client, seller, listing, price, capture):
    with capture(execute=True):
        response = auth_client(seller).patch(f"/api/v1/products/{listing.pk}/", {"price": price}, format="json")
    assert response.status_code == 200, response.json()
    return response


def drops():
    return list(Notification.objects.filter(kind="price_drop"))


def test_a_five_percent_cut_reaches_everyone_who_liked_it_in_batches(
    auth_client, seller, listing, fans, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.NOTIFY_FANOUT_BATCH = 2
    batches = []
    original = tasks.notify_price_drop.delay
    monkeypatch.setattr(tasks.notify_price_drop, "delay", lambda *a: (batches.append(a[0]), original(*a))[1])

    reprice(auth_client, seller, listing, "950.00", django_capture_on_commit_callbacks)

    assert sorted(n.user_id for n in drops()) == sorted(p.pk for p in fans)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    notice = drops()[0]
    assert notice.title == "Price drop: Jordan 1 Retro"
    assert "AED 950.00" in notice.body and "AED 1000.00" in notice.body
    assert notice.data["product_id"] == str(listing.pk)


@pytest.mark.parametrize(("price", "told"), [("951.00", False), ("960.00", False), ("1100.00", False)])
def test_a_small_cut_or_a_rise_tells_nobody(
    auth_client, seller, listing, fans, price, told, django_capture_on_commit_callbacks
):
    reprice(auth_client, seller, listing, price, django_capture_on_commit_callbacks)

    assert bool(drops()) is told


def test_a_set_amount_counts_on_a_dear_listing(auth_client, seller, fans, settings, django_capture_on_commit_callbacks):
    # AED 50 off AED 5,000 is 1%: under the share, at the set amount
    settings.PRICE_DROP_MIN_AMOUNT = 50
    dear = ProductFactory(seller=seller, price=Decimal("5000.00"))
    ProductLike.objects.create(product=dear, user=fans[0])

    reprice(auth_client, seller, dear, "4950.00", django_capture_on_commit_callbacks)

    assert [n.user_id for n in drops()] == [fans[0].pk]


def test_once_per_listing_per_person_per_day(auth_client, seller, listing, fans, django_capture_on_commit_callbacks):
    reprice(auth_client, seller, listing, "900.00", django_capture_on_commit_callbacks)
    reprice(auth_client, seller, listing, "800.00", django_capture_on_commit_callbacks)
    assert len(drops()) == len(fans)

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        reprice(auth_client, seller, listing, "700.00", django_capture_on_commit_callbacks)

    assert len(drops()) == 2 * len(fans)


def test_the_seller_and_people_in_a_block_with_them_hear_nothing(
    auth_client, seller, listing, fans, django_capture_on_commit_callbacks
):
    ProductLike.objects.create(product=listing, user=seller)
    Block.objects.create(blocker=fans[0], blocked=seller)
    Block.objects.create(blocker=seller, blocked=fans[1])  # the seller does not want them back

    reprice(auth_client, seller, listing, "900.00", django_capture_on_commit_callbacks)

    assert sorted(n.user_id for n in drops()) == sorted(p.pk for p in fans[2:])


def test_a_listing_sold_or_removed_before_the_fan_out_tells_nobody(seller, listing, fans):
    services.product_mark_sold(product=listing)
    assert tasks.fan_out_price_drop.run(str(listing.pk), "1000.00") == 0

    other = ProductFactory(seller=seller)
    ProductLike.objects.create(product=other, user=fans[0])
    services.product_hide(product=other, by=None, reason="test")
    assert tasks.notify_price_drop.run([str(fans[0].pk)], str(other.pk), "1000.00") == 0
    assert drops() == []


def test_a_price_drop_in_a_rolled_back_change_publishes_nothing(
    seller, listing, fans, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.product_update(product=listing, user=seller, data={"price": Decimal("500.00")})
                raise RuntimeError("the request failed after the change")
        except RuntimeError:
            pass

    assert callbacks == []
    assert drops() == []
