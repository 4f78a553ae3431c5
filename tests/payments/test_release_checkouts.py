from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from payments.models import FailureReason, Transaction, TransactionStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_abandoned_checkout_is_released_and_its_intent_cancelled(checkout, fake_stripe, buyer, product, settings):
    settings.CHECKOUT_HOLD_MINUTES = 15
    tx_id = checkout(buyer, product_id=str(product.pk)).json()["transaction_id"]
    tx = Transaction.objects.get(pk=tx_id)

    # 14 minutes later the hold stands
    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        call_command("release_checkouts")
    assert Transaction.objects.get(pk=tx_id).status == TransactionStatus.PENDING

    # 16 minutes later it is released, twice running changes nothing more
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        call_command("release_checkouts")
        call_command("release_checkouts")

    tx.refresh_from_db()
    assert tx.status == TransactionStatus.FAILED
    assert tx.failure_reason == FailureReason.CHECKOUT_EXPIRED
    (cancel,) = fake_stripe.calls("POST", f"/v1/payment_intents/{tx.stripe_payment_intent_id}/cancel")
    assert cancel.params["cancellation_reason"] == "abandoned"
    assert fake_stripe.payment_intents[tx.stripe_payment_intent_id]["status"] == "canceled"
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 201


def test_checkout_whose_payment_already_succeeded_is_kept(checkout, fake_stripe, buyer, product):
    tx_id = checkout(buyer, product_id=str(product.pk)).json()["transaction_id"]
    tx = Transaction.objects.get(pk=tx_id)
    fake_stripe.settle(tx.stripe_payment_intent_id)  # paid, webhook not delivered yet

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        call_command("release_checkouts")

    assert Transaction.objects.get(pk=tx_id).status == TransactionStatus.PENDING


def test_stripe_down_makes_the_command_fail_and_keeps_the_hold(checkout, fake_stripe, buyer, product):
    from django.core.management.base import CommandError

    tx_id = checkout(buyer, product_id=str(product.pk)).json()["transaction_id"]
    fake_stripe.fail_next("POST", "/v1/payment_intents/", 500)

    with time_machine.travel(timezone.now() + timedelta(hours=1)), pytest.raises(CommandError):
        call_command("release_checkouts")

    assert Transaction.objects.get(pk=tx_id).status == TransactionStatus.PENDING
