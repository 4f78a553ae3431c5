"""The money issue's unhappy paths, end to end through the API, the webhook and the strict
Stripe stand-in: partial refunds, refunds and lost disputes after the payout (reversals),
reversals Stripe refuses (seller debt), disputes won, relisting, the Connect endpoint.
Amounts in fils in comments: a 149.00 sale at 10% is 14900 = 1490 fee + 13410 seller."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Product
from messaging.models import OfferStatus
from payments.models import PayoutBlock, SellerDebt, Transaction
from payments.services import seller_share
from tests.factories import ProductFactory, UserFactory
from tests.payments.factories import OfferFactory

pytestmark = pytest.mark.django_db


def _refund(auth_client, user, tx, **body):
    client = auth_client(user)
    client.raise_request_exception = False
    return client.post(f"/api/v1/transactions/{tx.pk}/refund/", body, format="json")


def _confirm(auth_client, buyer, tx):
    return auth_client(buyer).post(f"/api/v1/transactions/{tx.pk}/confirm-receipt/")


def test_partial_refund_then_release_transfers_the_reduced_share(
    auth_client, fake_stripe, onboarded_seller, paid, buyer
):
    # 49.00 back to the buyer: kept 10000, fee 1000 (10% of what is kept), seller 9000
    response = _refund(auth_client, onboarded_seller, paid, amount="49.00")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["payout_status"]) == ("partially_refunded", "reduced")

    released = _confirm(auth_client, buyer, paid)

    assert released.json()["payout_status"] == "released"
    (transfer,) = fake_stripe.transfers.values()
    assert transfer["amount"] == 9000
    assert transfer["source_transaction"] == paid.stripe_charge_id
    (refund,) = fake_stripe.refunds.values()
    assert refund["amount"] == 4900


def test_a_refund_larger_than_what_is_left_is_400(auth_client, fake_stripe, paid, seller):
    _refund(auth_client, seller, paid, amount="100.00")

    response = _refund(auth_client, seller, paid, amount="49.01")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_refund_amount"
    assert len(fake_stripe.refunds) == 1


def test_partial_refund_after_release_reverses_that_part(auth_client, fake_stripe, onboarded_seller, paid, buyer):
    _confirm(auth_client, buyer, paid)  # 13410 to the seller

    response = _refund(auth_client, onboarded_seller, paid, amount="49.00")

    # the seller keeps 9000 of 10000: 4410 comes back
    assert response.json()["payout_status"] == "partially_reversed"
    (reversal,) = fake_stripe.reversals.values()
    assert reversal["amount"] == 4410
    paid.refresh_from_db()
    assert paid.amount_transferred - paid.amount_reversed == seller_share(paid) == Decimal("90.00")


def test_a_reversal_the_seller_cannot_cover_becomes_a_debt_that_blocks_payouts(
    auth_client, fake_stripe, onboarded_seller, paid, buyer, checkout, post_event
):
    _confirm(auth_client, buyer, paid)
    fake_stripe.short_balance.add(onboarded_seller.connect_account.stripe_account_id)

    response = _refund(auth_client, onboarded_seller, paid)

    assert response.status_code == 200  # the buyer is refunded whatever the seller's balance
    (debt,) = SellerDebt.objects.filter(seller=onboarded_seller)
    assert debt.amount == Decimal("134.10") and debt.settled_at is None
    # and the seller's next sale waits until the debt is settled
    other = ProductFactory(seller=onboarded_seller)
    tx_id = checkout(UserFactory(), product_id=str(other.pk)).json()["transaction_id"]
    post_event(fake_stripe, fake_stripe.settle(Transaction.objects.get(pk=tx_id).stripe_payment_intent_id))
    second = Transaction.objects.get(pk=tx_id)
    from payments.services import payout_release

    payout_release(transaction_id=second.pk)
    second.refresh_from_db()
    assert (second.payout_status, second.payout_blocked_reason) == ("held", PayoutBlock.SELLER_DEBT)
    assert len(fake_stripe.transfers) == 1


def test_dispute_lost_after_release_reverses_the_whole_share(
    auth_client, fake_stripe, onboarded_seller, paid, buyer, post_event
):
    _confirm(auth_client, buyer, paid)
    intent = paid.stripe_payment_intent_id

    assert post_event(fake_stripe, fake_stripe.dispute_event(intent, "charge.dispute.created")).json()["outcome"] == (
        "dispute_recorded"
    )
    closed = post_event(fake_stripe, fake_stripe.dispute_event(intent, "charge.dispute.closed", status="lost"))

    assert closed.json()["outcome"] == "dispute_lost"
    paid.refresh_from_db()
    assert (paid.status, paid.payout_status) == ("disputed_lost", "reversed")
    (reversal,) = fake_stripe.reversals.values()
    assert reversal["amount"] == 13410


def test_dispute_won_before_release_resumes_the_hold(
    auth_client, fake_stripe, onboarded_seller, paid, buyer, post_event
):
    intent = paid.stripe_payment_intent_id
    post_event(fake_stripe, fake_stripe.dispute_event(intent, "charge.dispute.created"))
    assert _confirm(auth_client, buyer, paid).json()["payout_status"] == "held"  # frozen

    won = post_event(fake_stripe, fake_stripe.dispute_event(intent, "charge.dispute.closed", status="won"))

    assert won.json()["outcome"] == "dispute_won"
    from payments.services import payout_release

    tx = payout_release(transaction_id=paid.pk)
    assert (tx.status, tx.payout_status) == ("completed", "released")
    assert [t["amount"] for t in fake_stripe.transfers.values()] == [13410]


def test_a_full_refund_relists_the_item_and_cancels_the_accepted_offer(
    auth_client, fake_stripe, checkout, post_event, buyer, seller
):
    offer = OfferFactory(buyer=buyer, product=ProductFactory(seller=seller), status=OfferStatus.ACCEPTED)
    tx_id = checkout(buyer, offer_id=str(offer.pk)).json()["transaction_id"]
    tx = Transaction.objects.get(pk=tx_id)
    post_event(fake_stripe, fake_stripe.settle(tx.stripe_payment_intent_id))
    assert Product.objects.get(pk=offer.product_id).is_available is False

    _refund(auth_client, seller, tx)

    assert Product.objects.get(pk=offer.product_id).is_available is True
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CANCELLED
    # and the refunded buyer may buy it again
    assert checkout(buyer, product_id=str(offer.product_id)).status_code == 201


def test_a_refund_with_relist_false_keeps_the_item_off_the_market(auth_client, fake_stripe, paid, seller):
    _refund(auth_client, seller, paid, relist=False)

    assert Product.objects.get(pk=paid.product_id).is_available is False


def test_connect_events_have_their_own_endpoint_and_secret(fake_stripe, api_client, settings, seller, auth_client):
    auth_client(seller).post("/api/v1/payments/connect/onboard/")
    account = next(iter(fake_stripe.accounts.values()))
    event = fake_stripe.complete_onboarding(account["id"])
    payload = json.dumps(event)
    url = "/api/v1/payments/webhook/connect/"

    signed_main = api_client.post(
        url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=fake_stripe.sign(payload)
    )
    fake_stripe.webhook_secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    signed_connect = api_client.post(
        url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=fake_stripe.sign(payload)
    )

    assert signed_main.status_code == 400  # the platform endpoint's secret does not sign Connect events
    assert signed_connect.json()["outcome"] == "account_synced"
    seller.connect_account.refresh_from_db()
    assert seller.connect_account.transfers_active


# --- the stand-in is as strict as Stripe ---------------------------------------------------------


def test_the_stand_in_refuses_a_reused_key_with_other_parameters(fake_stripe, settings):
    import stripe

    from payments.gateway import stripe_client

    fake_stripe.accounts["acct_x"] = {"id": "acct_x", "capabilities": {"transfers": "active"}}
    client = stripe_client()
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "aed"}, options={"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={"amount": 2000, "currency": "aed"}, options={"idempotency_key": "k1"})
    with pytest.raises(stripe.InvalidRequestError) as small:
        client.v1.payment_intents.create(params={"amount": 150, "currency": "aed"})
    assert small.value.code == "amount_too_small"


def test_onboarding_links_must_be_https(auth_client, fake_stripe, seller, settings):
    settings.STRIPE_CONNECT_RETURN_URL = "soukloop://stripe/return"
    client = auth_client(seller)
    client.raise_request_exception = False

    response = client.post("/api/v1/payments/connect/onboard/")

    assert response.status_code == 400  # Stripe's refusal, passed through
    assert response.json()["errors"][0]["code"] == "url_invalid"


def test_the_return_page_opens_the_app(client):
    response = client.get("/payments/connect/return/")

    assert response.status_code == 200
    assert b"soukloop://stripe/return" in response.content


# --- the ledger holds whatever happens, in whatever order ----------------------------------------

STEPS = st.lists(
    st.sampled_from(
        [
            "partial_refund",
            "full_refund",
            "release",
            "dashboard_refund",
            "dispute",
            "dispute_won",
            "dispute_lost",
            "replay",
        ]
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_money_in_equals_money_out_plus_fees_kept(
    steps, auth_client, fake_stripe, checkout, post_event, onboarded_seller
):
    buyer = UserFactory()
    product = ProductFactory(seller=onboarded_seller, price=Decimal("149.00"))
    tx = Transaction.objects.get(pk=checkout(buyer, product_id=str(product.pk)).json()["transaction_id"])
    last_event = fake_stripe.settle(tx.stripe_payment_intent_id)
    post_event(fake_stripe, last_event)
    intent = tx.stripe_payment_intent_id
    from payments.services import payout_release

    for step in steps:
        tx.refresh_from_db()
        if step == "partial_refund":
            _refund(auth_client, onboarded_seller, tx, amount="10.00")
        elif step == "full_refund":
            _refund(auth_client, onboarded_seller, tx)
        elif step == "release":
            payout_release(transaction_id=tx.pk)
        elif step == "dashboard_refund":
            left = fake_stripe.payment_intents[intent]["amount_received"] - sum(
                r["amount"] for r in fake_stripe.refunds.values() if r["payment_intent"] == intent
            )
            refunded_event = fake_stripe.refund_in_dashboard(intent, 500) if left >= 500 else None
            if refunded_event is not None:  # Stripe refuses refunds of a disputed charge
                last_event = refunded_event
                post_event(fake_stripe, last_event)
        elif step == "dispute":
            last_event = fake_stripe.dispute_event(intent, "charge.dispute.created")
            post_event(fake_stripe, last_event)
        elif step in ("dispute_won", "dispute_lost"):
            last_event = fake_stripe.dispute_event(intent, "charge.dispute.closed", status=step.split("_")[1])
            post_event(fake_stripe, last_event)
        elif step == "replay":
            post_event(fake_stripe, last_event)

        tx.refresh_from_db()
        refunded_at_stripe = sum(r["amount"] for r in fake_stripe.refunds.values() if r["payment_intent"] == intent)
        transferred = sum(t["amount"] for t in fake_stripe.transfers.values() if t["transfer_group"] == str(tx.pk))
        reversed_ = sum(
            t["amount_reversed"] for t in fake_stripe.transfers.values() if t["transfer_group"] == str(tx.pk)
        )
        debt = sum(d.amount for d in SellerDebt.objects.filter(transaction=tx, settled_at__isnull=True))
        lost = tx.amount_disputed_lost
        # what the platform holds of this payment, and what it has sent on (less what it is owed)
        money_in = tx.amount - Decimal(refunded_at_stripe) / 100 - lost
        money_out = Decimal(transferred - reversed_) / 100 - debt
        fees_kept = money_in - money_out
        # our ledger agrees with Stripe's, and nobody is paid more than what was kept
        assert tx.amount_refunded == Decimal(refunded_at_stripe) / 100
        assert Decimal(transferred - reversed_) / 100 == tx.amount_transferred - tx.amount_reversed
        assert money_out <= seller_share(tx)
        assert fees_kept >= 0
        assert money_in == money_out + fees_kept


def test_connect_status_rereads_a_stale_account_so_a_missed_event_cannot_block_payouts(
    auth_client, fake_stripe, seller
):
    import time_machine
    from django.utils import timezone

    client = auth_client(seller)
    client.post("/api/v1/payments/connect/onboard/")
    account = next(iter(fake_stripe.accounts.values()))
    fake_stripe.complete_onboarding(account["id"])  # the account.updated event never arrives

    assert client.get("/api/v1/payments/connect/status/").json()["payouts_enabled"] is False  # fresh copy
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        status = client.get("/api/v1/payments/connect/status/").json()

    assert status["payouts_enabled"] is True
    seller.connect_account.refresh_from_db()
    assert seller.connect_account.transfers_active


def test_a_payout_nobody_can_receive_is_refunded_to_the_buyer_after_unclaimed_days(fake_stripe, paid, buyer, settings):
    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    settings.UNCLAIMED_PAYOUT_DAYS = 60
    # the seller never onboards: the payout waits
    call_command("release_payouts")
    paid.refresh_from_db()
    assert paid.payout_blocked_reason == PayoutBlock.SELLER_NOT_ONBOARDED

    with time_machine.travel(timezone.now() + timedelta(days=59)):
        call_command("release_payouts")
    assert fake_stripe.refunds == {}

    with time_machine.travel(timezone.now() + timedelta(days=61)):
        call_command("release_payouts")
        call_command("release_payouts")  # idempotent

    paid.refresh_from_db()
    assert (paid.status, paid.payout_status) == ("refunded", "cancelled")
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [14900]


def test_the_payment_method_actually_used_is_recorded(checkout, fake_stripe, post_event, buyer, product):
    fake_stripe.next_payment_method = "link"  # allowed: card, link...; used: link
    tx = Transaction.objects.get(pk=checkout(buyer, product_id=str(product.pk)).json()["transaction_id"])

    post_event(fake_stripe, fake_stripe.settle(tx.stripe_payment_intent_id))

    tx.refresh_from_db()
    assert tx.payment_method == "link"


def test_the_stand_in_answers_409_while_a_request_with_the_same_key_is_in_flight(fake_stripe):
    import stripe

    from payments.gateway import stripe_client

    fake_stripe.in_flight.add("busy-key")

    with pytest.raises(stripe.APIError) as busy:  # the client library's class for Stripe's 409
        stripe_client().v1.payment_intents.create(
            params={"amount": 1000, "currency": "aed"}, options={"idempotency_key": "busy-key"}
        )

    assert busy.value.http_status == 409
    assert fake_stripe.payment_intents == {}
