from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from payments.models import PayoutBlock, PayoutStatus, Transaction
from tests.factories import UserFactory
from tests.payments.events import dispute_created

pytestmark = pytest.mark.django_db


def _confirm(auth_client, user, tx):
    return auth_client(user).post(f"/api/v1/transactions/{tx.pk}/confirm-receipt/")


def test_confirm_receipt_transfers_the_sellers_share(auth_client, fake_stripe, onboarded_seller, paid, buyer):
    # given a completed purchase from an onboarded seller
    # when the buyer confirms receipt
    response = _confirm(auth_client, buyer, paid)

    # then the seller's share is transferred to their connected account
    assert response.status_code == 200
    assert response.json()["payout_status"] == "released"
    (transfer,) = fake_stripe.calls("POST", "/v1/transfers")
    assert transfer.params["amount"] == "13410"
    assert transfer.params["currency"] == "aed"
    assert transfer.params["destination"] == "acct_onboarded_omar"
    assert transfer.params["transfer_group"] == str(paid.pk)
    assert transfer.params["source_transaction"] == paid.stripe_charge_id
    assert transfer.idempotency_key == f"soukloop-payout-{paid.pk}"
    paid.refresh_from_db()
    assert paid.stripe_transfer_id in fake_stripe.transfers
    assert paid.payout_released_at is not None


def test_confirming_twice_transfers_once(auth_client, fake_stripe, onboarded_seller, paid, buyer):
    _confirm(auth_client, buyer, paid)
    response = _confirm(auth_client, buyer, paid)

    assert response.status_code == 200
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == 1


def test_seller_not_onboarded_payout_waits_and_status_says_why(auth_client, fake_stripe, paid, buyer, seller):
    response = _confirm(auth_client, buyer, paid)

    assert response.status_code == 200
    assert response.json()["payout_status"] == "held"
    assert response.json()["payout_blocked_reason"] == "seller_not_onboarded"
    assert not fake_stripe.calls("POST", "/v1/transfers")
    status = auth_client(seller).get("/api/v1/payments/connect/status/").json()
    assert status["payouts_waiting_count"] == 1
    assert status["payouts_waiting_amount"] == "134.10"
    assert status["payouts_waiting_reason"] == "seller_not_onboarded"


def test_payout_released_by_command_once_the_seller_finishes_onboarding(
    auth_client, fake_stripe, post_event, paid, buyer, seller
):
    # given the buyer confirmed while the seller had no payouts; the seller then onboards
    _confirm(auth_client, buyer, paid)
    onboard = auth_client(seller).post("/api/v1/payments/connect/onboard/")
    assert onboard.status_code == 200
    account = next(iter(fake_stripe.accounts.values()))
    post_event(fake_stripe, fake_stripe.complete_onboarding(account["id"]))

    # when release_payouts runs
    call_command("release_payouts")

    # then the payout is transferred to the new account
    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.RELEASED
    assert fake_stripe.calls("POST", "/v1/transfers")[0].params["destination"] == account["id"]


def test_release_payouts_waits_for_the_hold_then_releases_once(fake_stripe, onboarded_seller, paid, settings):
    settings.PAYOUT_HOLD_DAYS = 3
    # given a payment completed now; two days later the hold is not over
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=23)):
        call_command("release_payouts")
    assert Transaction.objects.get(pk=paid.pk).payout_status == PayoutStatus.HELD

    # when three days have passed, the payout is released, and a second run does nothing more
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        call_command("release_payouts")
        call_command("release_payouts")
    assert Transaction.objects.get(pk=paid.pk).payout_status == PayoutStatus.RELEASED
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == 1


def test_disputed_payment_is_never_released(auth_client, fake_stripe, post_event, onboarded_seller, paid, buyer):
    post_event(
        fake_stripe,
        dispute_created(fake_stripe, charge_id=paid.stripe_charge_id, intent_id=paid.stripe_payment_intent_id),
    )

    response = _confirm(auth_client, buyer, paid)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        call_command("release_payouts")

    assert response.json()["payout_blocked_reason"] == PayoutBlock.DISPUTED
    assert Transaction.objects.get(pk=paid.pk).payout_status == PayoutStatus.HELD
    assert not fake_stripe.calls("POST", "/v1/transfers")


def test_refunded_payment_is_never_released(auth_client, fake_stripe, onboarded_seller, paid, seller, buyer):
    auth_client(seller).post(f"/api/v1/transactions/{paid.pk}/refund/")

    response = _confirm(auth_client, buyer, paid)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        call_command("release_payouts")

    assert response.status_code == 409
    assert not fake_stripe.calls("POST", "/v1/transfers")


def test_only_the_buyer_confirms_receipt(auth_client, fake_stripe, onboarded_seller, paid, seller):
    assert _confirm(auth_client, seller, paid).status_code == 403
    assert _confirm(auth_client, UserFactory(), paid).status_code == 404
    assert not fake_stripe.calls("POST", "/v1/transfers")


def test_confirm_receipt_of_a_pending_checkout_is_409(auth_client, checkout, fake_stripe, buyer, product):
    tx_id = checkout(buyer, product_id=str(product.pk)).json()["transaction_id"]

    response = auth_client(buyer).post(f"/api/v1/transactions/{tx_id}/confirm-receipt/")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "transaction_not_completed"


def test_transfer_failure_keeps_the_payout_held_for_the_command(
    auth_client, fake_stripe, onboarded_seller, paid, buyer
):
    fake_stripe.fail_next("POST", "/v1/transfers", 500)

    response = _confirm(auth_client, buyer, paid)

    assert response.status_code == 200
    assert response.json()["payout_status"] == "held"
    paid.refresh_from_db()
    assert paid.receipt_confirmed_at is not None
    call_command("release_payouts")
    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.RELEASED
    # the retry looked the transfer up first, then used a fresh key (the failed one replays its 500)
    transfers = fake_stripe.calls("POST", "/v1/transfers")
    assert [t.idempotency_key for t in transfers] == [f"soukloop-payout-{paid.pk}", f"soukloop-payout-{paid.pk}-a1"]
    assert len(fake_stripe.transfers) == 1
    assert fake_stripe.calls("GET", "/v1/transfers")
