from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from messaging.models import OfferStatus
from payments.models import Transaction, TransactionStatus
from tests.factories import ProductFactory, SellerFactory, UserFactory
from tests.payments.factories import OfferFactory

pytestmark = pytest.mark.django_db


def test_checkout_at_list_price_creates_pending_transaction_and_payment_intent_in_fils(
    checkout, fake_stripe, buyer, product
):
    # given a listing at 149.00 AED on the discover feed (10%)
    # when the buyer checks out
    response = checkout(buyer, product_id=str(product.pk))

    # then a pending transaction holds the item and the client gets the intent's secret
    assert response.status_code == 201
    body = response.json()
    assert body["amount"] == "149.00"
    assert body["platform_fee"] == "14.90"
    assert body["seller_payout"] == "134.10"
    assert body["currency"] == "AED"
    tx = Transaction.objects.get(pk=body["transaction_id"])
    assert tx.status == TransactionStatus.PENDING
    (call,) = fake_stripe.calls("POST", "/v1/payment_intents")
    assert call.params["amount"] == "14900"
    assert call.params["currency"] == "aed"
    assert call.params["transfer_group"] == str(tx.pk)
    assert call.params["metadata[transaction_id]"] == str(tx.pk)
    assert call.idempotency_key == f"soukloop-checkout-{tx.pk}"
    intent = fake_stripe.payment_intents[tx.stripe_payment_intent_id]
    assert body["client_secret"] == intent["client_secret"]


def test_same_buyer_retry_returns_the_same_transaction(checkout, fake_stripe, buyer, product):
    first = checkout(buyer, product_id=str(product.pk)).json()
    second = checkout(buyer, product_id=str(product.pk))

    assert second.status_code == 201
    assert second.json()["transaction_id"] == first["transaction_id"]
    assert second.json()["client_secret"] == first["client_secret"]
    assert Transaction.objects.count() == 1
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1


def test_second_buyer_gets_409_while_the_item_is_held(checkout, fake_stripe, buyer, product):
    checkout(buyer, product_id=str(product.pk))
    response = checkout(UserFactory(), product_id=str(product.pk))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_reserved"
    assert Transaction.objects.count() == 1


def test_sold_item_is_409(checkout, fake_stripe, paid, product):
    response = checkout(UserFactory(), product_id=str(product.pk))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_sold"


def test_sold_item_message_in_arabic(auth_client, fake_stripe, paid, product):
    response = auth_client(UserFactory()).post(
        "/api/v1/payments/checkout/", {"product_id": str(product.pk)}, format="json", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["detail"] == "تم بيع هذا المنتج بالفعل."


def test_seller_cannot_buy_own_listing(checkout, fake_stripe, seller, product):
    response = checkout(seller, product_id=str(product.pk))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "own_product"
    assert not fake_stripe.requests


@pytest.mark.parametrize("body", [{}, {"product_id": "not-a-uuid"}, "both"])
def test_bad_input_is_400(checkout, fake_stripe, buyer, product, body):
    if body == "both":
        body = {"product_id": str(product.pk), "offer_id": str(product.pk)}
    response = checkout(buyer, **body)

    assert response.status_code == 400
    assert Transaction.objects.count() == 0


def test_unknown_or_deleted_listing_is_404(checkout, fake_stripe, buyer):
    from django.utils import timezone

    deleted = ProductFactory(deleted_at=timezone.now())
    assert checkout(buyer, product_id=str(deleted.pk)).status_code == 404
    assert checkout(buyer, product_id="00000000-0000-0000-0000-000000000000").status_code == 404


def test_anonymous_checkout_is_401(api_client, product):
    assert api_client.post("/api/v1/payments/checkout/", {"product_id": str(product.pk)}).status_code == 401


def test_accepted_offer_is_paid_at_the_agreed_counter_price(checkout, fake_stripe, buyer, product):
    # given an offer of 100 countered at 120 and accepted by the buyer
    offer = OfferFactory(
        product=product,
        buyer=buyer,
        offered_price=Decimal("100.00"),
        counter_price=Decimal("120.00"),
        status=OfferStatus.ACCEPTED,
    )

    response = checkout(buyer, offer_id=str(offer.pk))

    assert response.status_code == 201
    assert response.json()["amount"] == "120.00"
    assert fake_stripe.calls("POST", "/v1/payment_intents")[0].params["amount"] == "12000"
    assert Transaction.objects.get().offer_id == offer.pk


def test_someone_elses_offer_is_404_and_an_open_offer_is_409(checkout, fake_stripe, buyer, product):
    accepted = OfferFactory(product=product, buyer=buyer, status=OfferStatus.ACCEPTED)
    pending = OfferFactory(product=ProductFactory(seller=product.seller), buyer=buyer, status=OfferStatus.PENDING)

    assert checkout(UserFactory(), offer_id=str(accepted.pk)).status_code == 404
    response = checkout(buyer, offer_id=str(pending.pk))
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "offer_not_accepted"


def test_a_stripe_outage_keeps_the_checkout_for_the_buyers_retry(checkout, fake_stripe, buyer, product):
    # given Stripe answers the PaymentIntent creation with a server error (the outcome is
    # unknown: the intent may exist), which Stripe stores under that idempotency key
    fake_stripe.fail_next("POST", "/v1/payment_intents", 500)

    response = checkout(buyer, product_id=str(product.pk))

    # then 503, and the reservation stays pending (never deleted on an unknown outcome)
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "payment_provider_unavailable"
    tx = Transaction.objects.get()
    assert tx.status == "pending" and tx.stripe_payment_intent_id == ""
    # and the buyer's retry gets a payment with a new key (the old one would replay the 500)
    retry = checkout(buyer, product_id=str(product.pk))
    assert retry.status_code == 201
    assert retry.json()["transaction_id"] == str(tx.pk)
    keys = [c.idempotency_key for c in fake_stripe.calls("POST", "/v1/payment_intents")]
    assert keys == [f"soukloop-checkout-{tx.pk}", f"soukloop-checkout-{tx.pk}-a1"]
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 409


def test_a_stripe_refusal_leaves_nothing_written_and_the_item_free(checkout, fake_stripe, buyer, product):
    fake_stripe.fail_next("POST", "/v1/payment_intents", 400)

    response = checkout(buyer, product_id=str(product.pk))

    assert response.status_code == 400  # Stripe's own answer, passed through (not "try later")
    assert Transaction.objects.count() == 0
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 201


@pytest.mark.parametrize(("price", "status"), [("1.99", 400), ("2.00", 201)])
def test_amounts_stripe_would_refuse_are_400_before_calling_it(checkout, fake_stripe, buyer, seller, price, status):
    product = ProductFactory(seller=seller, price=Decimal(price))

    response = checkout(buyer, product_id=str(product.pk))

    assert response.status_code == status
    if status == 400:
        assert response.json()["errors"][0]["code"] == "amount_out_of_range"
        assert fake_stripe.calls("POST", "/v1/payment_intents") == []


def test_checkout_of_seller_without_payouts_is_allowed(checkout, fake_stripe, buyer, product):
    # the seller has no Connect account yet: the buyer may still pay; the payout waits
    response = checkout(buyer, product_id=str(product.pk))
    assert response.status_code == 201
    tx = Transaction.objects.get(product=product)
    assert (tx.buyer_id, tx.status) == (buyer.pk, TransactionStatus.PENDING)
    assert response.json()["client_secret"]


def test_same_buyer_switching_from_list_price_to_an_offer_is_409(checkout, fake_stripe, buyer, product):
    offer = OfferFactory(product=product, buyer=buyer, status=OfferStatus.ACCEPTED)
    checkout(buyer, product_id=str(product.pk))

    response = checkout(buyer, offer_id=str(offer.pk))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "checkout_in_progress"


def test_buyer_blocked_by_the_seller_sees_404(checkout, fake_stripe, buyer, product):
    from accounts.models import Block

    Block.objects.create(blocker=product.seller, blocked=buyer)

    assert checkout(buyer, product_id=str(product.pk)).status_code == 404
    assert Transaction.objects.count() == 0


def test_reserved_message_in_arabic(auth_client, checkout, fake_stripe, buyer, product):
    checkout(buyer, product_id=str(product.pk))

    response = auth_client(UserFactory()).post(
        "/api/v1/payments/checkout/", {"product_id": str(product.pk)}, format="json", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert response.json()["errors"][0]["detail"] == "شخص آخر يدفع ثمن هذا المنتج الآن. حاول مرة أخرى بعد بضع دقائق."


def test_another_buyers_accepted_offer_holds_the_item_until_it_lapses(checkout, fake_stripe, buyer, product, settings):
    import time_machine
    from django.utils import timezone

    # given the seller accepted someone else's offer an hour ago
    settings.ACCEPTED_OFFER_HOLD_HOURS = 24
    OfferFactory(product=product, buyer=UserFactory(), status=OfferStatus.ACCEPTED, responded_at=timezone.now())

    # when I try to buy at list price, the item is reserved for them
    response = checkout(buyer, product_id=str(product.pk))
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_reserved"

    # and once their hold is over, I can buy it
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert checkout(buyer, product_id=str(product.pk)).status_code == 201


# --- listing hoarding (security review, finding 9) ---------------------------------------------


def test_a_buyer_may_hold_at_most_max_open_checkouts(checkout, fake_stripe, buyer, seller, settings):
    settings.MAX_OPEN_CHECKOUTS = 3
    products = [ProductFactory(seller=seller) for _ in range(5)]

    answers = [checkout(buyer, product_id=str(p.pk)) for p in products]

    assert [a.status_code for a in answers] == [201, 201, 201, 409, 409]
    assert answers[3].json()["errors"][0]["code"] == "too_many_open_checkouts"
    assert Transaction.objects.filter(buyer=buyer, status="pending").count() == 3
    # the fourth and fifth items stay free for others
    assert checkout(UserFactory(), product_id=str(products[3].pk)).status_code == 201


def test_asking_again_for_an_open_checkout_is_not_a_new_one(checkout, fake_stripe, buyer, seller, settings):
    settings.MAX_OPEN_CHECKOUTS = 1
    product = ProductFactory(seller=seller)

    first = checkout(buyer, product_id=str(product.pk))
    again = checkout(buyer, product_id=str(product.pk))

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["transaction_id"] == first.json()["transaction_id"]
    assert Transaction.objects.filter(buyer=buyer).count() == 1


def test_an_unverified_buyer_cannot_check_out(checkout, fake_stripe, seller):
    fresh = UserFactory(is_verified=False)
    product = ProductFactory(seller=seller)

    response = checkout(fresh, product_id=str(product.pk))

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "phone_not_verified"
    assert not Transaction.objects.filter(product=product).exists()
    assert fake_stripe.calls("POST", "/v1/payment_intents") == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_checkouts_of_one_buyer_respect_the_cap(fake_stripe, auth_client, settings):
    from tests.concurrency import run_together

    settings.MAX_OPEN_CHECKOUTS = 3
    buyer = UserFactory()
    seller = SellerFactory()
    products = [ProductFactory(seller=seller) for _ in range(8)]

    def attempt(product):
        client = auth_client(buyer)
        client.raise_request_exception = False
        return client.post("/api/v1/payments/checkout/", {"product_id": str(product.pk)}, format="json").status_code

    codes = run_together([lambda p=p: attempt(p) for p in products])

    assert sorted(codes) == [201] * 3 + [409] * 5
    assert Transaction.objects.filter(buyer=buyer, status="pending").count() == 3


def test_a_checkout_retried_with_its_idempotency_key_is_answered_once(auth_client, fake_stripe, buyer, seller):
    products = [ProductFactory(seller=seller) for _ in range(2)]
    client = auth_client(buyer)

    first = client.post(
        "/api/v1/payments/checkout/", {"product_id": str(products[0].pk)}, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    again = client.post(
        "/api/v1/payments/checkout/", {"product_id": str(products[0].pk)}, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    other = client.post(
        "/api/v1/payments/checkout/", {"product_id": str(products[1].pk)}, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    assert not Transaction.objects.filter(product=products[1]).exists()
