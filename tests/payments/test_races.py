"""Real concurrency on PostgreSQL: threads, each with its own DB connection."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from messaging.models import Message
from payments.models import StripeEvent, Transaction, TransactionStatus
from tests.concurrency import CONNECTION_HUNGRY, run_together
from tests.payments.conftest import CHECKOUT_URL, WEBHOOK_URL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), CONNECTION_HUNGRY]

# PostgreSQL here allows 100 connections, shared with other test runs: 40 threads at once
# carry the 100 checkouts (each thread holds one connection).
THREADS = 40
BUYERS = 100
ROUNDS = 30


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    client.raise_request_exception = False
    return client


def _run_concurrently(calls: list, threads: int) -> list:
    barrier = threading.Barrier(min(threads, len(calls)))
    chunks = [calls[i::threads] for i in range(threads)]

    def work(chunk):
        try:
            barrier.wait(timeout=30)
            return [call() for call in chunk]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [result for chunk_results in pool.map(work, [c for c in chunks if c]) for result in chunk_results]


def test_100_concurrent_checkouts_make_exactly_one_transaction(fake_stripe, product):
    # given 100 different buyers
    buyers = User.objects.bulk_create(
        [
            User(username=f"racer{i}", email=f"racer{i}@example.ae", password="!", is_verified=True)
            for i in range(BUYERS)
        ]
    )
    body = {"product_id": str(product.pk)}

    # when they all check out the same item at once
    responses = _run_concurrently(
        [lambda b=b: _client(b).post(CHECKOUT_URL, body, format="json") for b in buyers], THREADS
    )

    # then exactly one holds it, the rest get 409, nobody gets a 5xx
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: BUYERS - 1}
    assert Transaction.objects.filter(product=product).count() == 1
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1


def test_concurrent_duplicate_webhook_deliveries_apply_once(fake_stripe, buyer, product):
    # given a pending checkout and its success event
    tx_id = _client(buyer).post(CHECKOUT_URL, {"product_id": str(product.pk)}, format="json").json()["transaction_id"]
    tx = Transaction.objects.get(pk=tx_id)
    event = fake_stripe.settle(tx.stripe_payment_intent_id)
    import json

    payload = json.dumps(event)
    signature = fake_stripe.sign(payload)

    def deliver():
        return APIClient().post(
            WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )

    # when Stripe delivers it 20 times at once
    responses = _run_concurrently([deliver] * 20, 20)

    # then it is applied once
    outcomes = Counter(r.json()["outcome"] for r in responses)
    assert {r.status_code for r in responses} == {200}
    assert outcomes == {"completed": 1, "duplicate": 19}
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert Transaction.objects.get(pk=tx_id).status == TransactionStatus.COMPLETED
    assert Message.objects.filter(conversation__product=product).count() == 1


def test_concurrent_confirm_receipt_and_release_transfer_once(fake_stripe, onboarded_seller, paid, buyer):
    from payments.services import payouts_release_due

    calls = [lambda: _client(buyer).post(f"/api/v1/transactions/{paid.pk}/confirm-receipt/")] * 5
    calls += [payouts_release_due] * 5

    _run_concurrently(calls, 10)

    assert Transaction.objects.get(pk=paid.pk).payout_status == "released"
    # counted as attempts at the stand-in, not as transfers that key de-duplication would
    # merge anyway: the row lock let exactly one caller ask Stripe for a transfer
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == 1
    assert len(fake_stripe.transfers) == 1


def test_the_payout_row_lock_holds_a_second_releaser_until_the_first_commits(fake_stripe, onboarded_seller, paid):
    """The lock on its own: while one transaction holds the row (as a release does), a
    second release waits, then sees the payout released and asks Stripe for nothing."""
    import threading

    from django.db import transaction as db_transaction

    from payments.services import payout_release

    locked, done = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with db_transaction.atomic():
                Transaction.objects.select_for_update().get(pk=paid.pk)
                locked.set()
                done.wait(2)
                Transaction.objects.filter(pk=paid.pk).update(payout_status="released")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(5)
    result = {}
    releaser = threading.Thread(target=lambda: result.update(tx=payout_release(transaction_id=paid.pk)))
    releaser.start()
    releaser.join(0.5)
    assert releaser.is_alive()  # waiting on the lock
    done.set()
    holder.join()
    releaser.join(5)
    assert result["tx"].payout_status == "released"
    assert fake_stripe.calls("POST", "/v1/transfers") == []


def test_checkout_of_an_accepted_offer_and_its_lapse_never_both_win(fake_stripe, buyer, product, settings):
    """The lapse of an unpaid accepted offer (expire_offers) racing its buyer's checkout:
    either the checkout holds the item and the offer stays accepted, or the offer lapses
    and the checkout is refused. Never a transaction on an expired offer."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging.models import Offer, OfferStatus
    from payments.services import offers_lapse_unpaid_accepted
    from tests.payments.factories import OfferFactory

    settings.ACCEPTED_OFFER_HOLD_HOURS = 24
    outcomes = Counter()
    for _round in range(ROUNDS):
        Transaction.objects.all().delete()
        Offer.objects.all().delete()
        offer = OfferFactory(
            product=product,
            buyer=buyer,
            status=OfferStatus.ACCEPTED,
            responded_at=timezone.now() - timedelta(hours=25),
        )
        body = {"offer_id": str(offer.pk)}

        response, _lapsed = run_together(
            [lambda body=body: _client(buyer).post(CHECKOUT_URL, body, format="json"), offers_lapse_unpaid_accepted]
        )

        offer.refresh_from_db()
        paid = Transaction.objects.filter(offer=offer).exists()
        assert response.status_code in (201, 409), response.content
        assert paid == (response.status_code == 201)
        assert offer.status == (OfferStatus.ACCEPTED if paid else OfferStatus.EXPIRED)
        outcomes["checkout" if paid else "lapse"] += 1
    assert sum(outcomes.values()) == ROUNDS
