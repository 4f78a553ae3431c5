from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import Transaction
from tests.factories import ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/transactions/"


def _purchases(buyer, n: int) -> list[Transaction]:
    made = []
    for _ in range(n):
        product = ProductFactory(seller=SellerFactory(), price=Decimal("50.00"))
        made.append(
            Transaction.objects.create(
                buyer=buyer,
                seller=product.seller,
                product=product,
                amount=Decimal("50.00"),
                platform_fee=Decimal("5.00"),
                seller_payout=Decimal("45.00"),
                feed_type=product.feed_type,
            )
        )
    return made


def test_buyer_and_seller_see_the_transaction_and_a_stranger_gets_404(auth_client, fake_stripe, paid, buyer, seller):
    for user in (buyer, seller):
        body = auth_client(user).get(f"{LIST}{paid.pk}/").json()
        assert body["status"] == "completed"
        assert body["payout_status"] == "held"
        assert body["amount"] == "149.00"
        assert body["platform_fee"] == "14.90"
        assert body["seller_payout"] == "134.10"
        assert body["product"]["id"] == str(paid.product_id)
        assert body["buyer"] == {"id": str(buyer.pk), "username": buyer.username}
        assert body["seller"] == {"id": str(seller.pk), "username": seller.username}
        assert body["stripe_payment_intent_id"] == paid.stripe_payment_intent_id
        assert body["completed_at"] is not None
        assert body["payout_release_due_at"] is not None

    assert auth_client(UserFactory()).get(f"{LIST}{paid.pk}/").status_code == 404
    assert auth_client(buyer).get(f"{LIST}not-a-uuid/").status_code == 404


def test_list_shows_purchases_and_sales_with_role_filter(auth_client, fake_stripe, paid, buyer, seller):
    _purchases(seller, 2)  # the seller also bought two things

    all_mine = auth_client(seller).get(LIST).json()
    sales = auth_client(seller).get(LIST, {"role": "seller"}).json()
    purchases = auth_client(seller).get(LIST, {"role": "buyer"}).json()

    assert all_mine["count"] == 3
    assert [t["id"] for t in sales["results"]] == [str(paid.pk)]
    assert purchases["count"] == 2
    assert auth_client(UserFactory()).get(LIST).json()["count"] == 0


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_runs_a_constant_number_of_queries(auth_client, buyer, django_assert_max_num_queries, page_size):
    _purchases(buyer, 50)
    client = auth_client(buyer)

    with django_assert_max_num_queries(3):  # user, count, page
        response = client.get(LIST, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_list_needs_login(api_client):
    assert api_client.get(LIST).status_code == 401
