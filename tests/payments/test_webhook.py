from __future__ import annotations

import json
import time

import pytest
import time_machine

from catalog.models import Product
from messaging.models import Message, MessageType, Offer, OfferStatus
from payments.models import PayoutBlock, PayoutStatus, StripeEvent, Transaction, TransactionStatus
from tests.factories import UserFactory
from tests.payments.events import charge_refunded, dispute_created
from tests.payments.factories import OfferFactory

pytestmark = pytest.mark.django_db


def _start(checkout, fake_stripe, buyer, product) -> tuple[Transaction, dict]:
    response = checkout(buyer, product_id=str(product.pk))
    assert response.status_code == 201
    tx = Transaction.objects.get(pk=response.json()["transaction_id"])
    return tx, fake_stripe.payment_intents[tx.stripe_payment_intent_id]


def test_bad_signature_is_400_and_writes_nothing(checkout, fake_stripe, post_event, buyer, product):
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    event = fake_stripe.settle(intent["id"])

    response = post_event(fake_stripe, event, signature="t=123,v1=deadbeef")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.PENDING


def test_missing_signature_or_tampered_body_is_400(api_client, fake_stripe, post_event, checkout, buyer, product):
    _tx, intent = _start(checkout, fake_stripe, buyer, product)
    event = fake_stripe.settle(intent["id"])
    signed_for_other_body = fake_stripe.sign(json.dumps({"id": "evt_other"}))

    assert post_event(fake_stripe, event, signature="").status_code == 400
    assert post_event(fake_stripe, event, signature=signed_for_other_body).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_stale_timestamp_is_400(checkout, fake_stripe, post_event, buyer, product):
    # given an event signed correctly, but delivered more than 300 s after it was signed
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    event = fake_stripe.settle(intent["id"])
    signed_at = int(time.time())
    payload_signature = fake_stripe.sign(json.dumps(event), timestamp=signed_at)

    with time_machine.travel(signed_at + 301, tick=False):
        response = post_event(fake_stripe, event, signature=payload_signature)

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.PENDING


def test_payment_succeeded_completes_sells_declines_offers_and_posts_a_system_message(
    checkout, fake_stripe, post_event, buyer, product
):
    # given an open offer from someone else on the listing
    other_offer = OfferFactory(product=product, buyer=UserFactory(), status=OfferStatus.PENDING)
    tx, intent = _start(checkout, fake_stripe, buyer, product)

    # when Stripe says the payment succeeded
    response = post_event(fake_stripe, fake_stripe.settle(intent["id"]))

    # then
    assert response.status_code == 200
    assert response.json()["outcome"] == "completed"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.COMPLETED
    assert tx.completed_at is not None
    assert tx.payout_status == PayoutStatus.HELD
    assert tx.payout_blocked_reason == PayoutBlock.SELLER_NOT_ONBOARDED
    assert tx.stripe_charge_id == intent["latest_charge"]
    product = Product.objects.get(pk=product.pk)
    assert product.is_available is False
    assert product.sold_at is not None
    assert Offer.objects.get(pk=other_offer.pk).status == OfferStatus.DECLINED
    message = Message.objects.get(conversation__buyer=buyer, conversation__product=product)
    assert message.message_type == MessageType.SYSTEM
    assert "149.00 AED" in message.content


def test_replayed_event_changes_nothing(checkout, fake_stripe, post_event, buyer, product):
    _tx, intent = _start(checkout, fake_stripe, buyer, product)
    event = fake_stripe.settle(intent["id"])
    post_event(fake_stripe, event)

    replay = post_event(fake_stripe, event)

    assert replay.status_code == 200
    assert replay.json()["outcome"] == "duplicate"
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert Message.objects.filter(conversation__product=product).count() == 1


def test_payment_failed_frees_the_item_and_cancels_the_intent(
    checkout, fake_stripe, post_event, buyer, product, django_capture_on_commit_callbacks
):
    tx, intent = _start(checkout, fake_stripe, buyer, product)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(fake_stripe, fake_stripe.settle(intent["id"], succeed=False))

    assert response.json()["outcome"] == "failed"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.FAILED
    assert fake_stripe.payment_intents[intent["id"]]["status"] == "canceled"
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 201


def test_failed_event_arriving_after_success_leaves_it_completed(checkout, fake_stripe, post_event, buyer, product):
    # given a decline then a successful retry, delivered in reverse order
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    declined = fake_stripe.settle(intent["id"], succeed=False)
    succeeded = fake_stripe.settle(intent["id"], succeed=True)

    post_event(fake_stripe, succeeded)
    response = post_event(fake_stripe, declined)

    assert response.json()["outcome"] == "ignored_completed"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.COMPLETED
    assert Product.objects.get(pk=product.pk).is_available is False


def test_success_after_the_item_went_to_someone_else_is_refunded(checkout, fake_stripe, post_event, buyer, product):
    # given the buyer's card was declined, the item freed, and another buyer started checkout
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    post_event(
        fake_stripe, fake_stripe.settle(intent["id"], succeed=False)
    )  # (the cancel is after commit: not run here)
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 201
    # when a late success for the first intent arrives anyway
    fake_stripe.payment_intents[intent["id"]]["status"] = "requires_payment_method"
    response = post_event(fake_stripe, fake_stripe.settle(intent["id"], succeed=True))

    # then the first buyer's money goes back and the item stays with the second checkout
    assert response.json()["outcome"] == "refunded_late_payment"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.REFUNDED
    assert tx.payout_status == PayoutStatus.CANCELLED
    (refund_call,) = fake_stripe.calls("POST", "/v1/refunds")
    assert refund_call.params["payment_intent"] == intent["id"]
    assert refund_call.idempotency_key == f"soukloop-refund-{tx.pk}"
    assert Product.objects.get(pk=product.pk).is_available is True


def test_success_after_an_expired_hold_still_sells_a_free_item(checkout, fake_stripe, post_event, buyer, product):
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    Transaction.objects.filter(pk=tx.pk).update(status=TransactionStatus.FAILED)

    response = post_event(fake_stripe, fake_stripe.settle(intent["id"]))

    assert response.json()["outcome"] == "completed"
    assert Transaction.objects.get(pk=tx.pk).status == TransactionStatus.COMPLETED


def test_amount_mismatch_is_not_trusted(checkout, fake_stripe, post_event, buyer, product):
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    event = fake_stripe.settle(intent["id"])
    event["data"]["object"]["amount_received"] = 100

    response = post_event(fake_stripe, event)

    assert response.json()["outcome"] == "mismatch_ignored"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.PENDING
    assert Product.objects.get(pk=product.pk).is_available is True


def test_unknown_intent_is_acknowledged_and_recorded(fake_stripe, post_event):
    event = fake_stripe.event("payment_intent.succeeded", {"id": "pi_unknown", "metadata": {"transaction_id": "x"}})

    response = post_event(fake_stripe, event)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id=event["id"]).outcome == "unknown_transaction"


def test_charge_refunded_marks_refunded_and_cancels_the_payout(fake_stripe, post_event, paid):
    event = charge_refunded(
        fake_stripe, charge_id=paid.stripe_charge_id, intent_id=paid.stripe_payment_intent_id, refund_id="re_dashboard"
    )

    response = post_event(fake_stripe, event)

    assert response.json()["outcome"] == "refunded"
    paid.refresh_from_db()
    assert paid.status == TransactionStatus.REFUNDED
    assert paid.payout_status == PayoutStatus.CANCELLED
    assert paid.stripe_refund_id == "re_dashboard"


def test_partial_refund_does_not_flip_the_transaction(fake_stripe, post_event, paid):
    event = charge_refunded(
        fake_stripe, charge_id=paid.stripe_charge_id, intent_id=paid.stripe_payment_intent_id, amount_refunded=1000
    )

    assert post_event(fake_stripe, event).json()["outcome"] == ("partial_refund_ignored")
    paid.refresh_from_db()
    assert paid.status == TransactionStatus.COMPLETED


def test_refund_event_before_success_event_ends_refunded_and_item_unsold(
    checkout, fake_stripe, post_event, buyer, product
):
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    succeeded = fake_stripe.settle(intent["id"])
    post_event(fake_stripe, charge_refunded(fake_stripe, charge_id=intent["latest_charge"], intent_id=intent["id"]))
    response = post_event(fake_stripe, succeeded)

    assert response.json()["outcome"] == "already_refunded"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.REFUNDED
    assert Product.objects.get(pk=product.pk).is_available is True


def test_dispute_freezes_the_payout(fake_stripe, post_event, paid):
    response = post_event(
        fake_stripe,
        dispute_created(fake_stripe, charge_id=paid.stripe_charge_id, intent_id=paid.stripe_payment_intent_id),
    )

    assert response.json()["outcome"] == "payout_frozen"
    paid.refresh_from_db()
    assert paid.disputed_at is not None
    assert paid.payout_status == PayoutStatus.HELD
    assert paid.payout_blocked_reason == PayoutBlock.DISPUTED


def test_validly_signed_garbage_is_400(fake_stripe, post_event, api_client):
    payload = "not json at all"

    response = api_client.post(
        "/api/v1/payments/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=fake_stripe.sign(payload),
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_event_types_we_do_not_handle_are_recorded_and_acknowledged(fake_stripe, post_event):
    event = fake_stripe.event("customer.created", {"id": "cus_1"})

    response = post_event(fake_stripe, event)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id=event["id"]).outcome == "unhandled_type"


def test_dispute_before_success_still_freezes_the_payout(checkout, fake_stripe, post_event, buyer, product):
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    succeeded = fake_stripe.settle(intent["id"])

    post_event(fake_stripe, dispute_created(fake_stripe, charge_id=intent["latest_charge"], intent_id=intent["id"]))
    post_event(fake_stripe, succeeded)

    tx.refresh_from_db()
    assert tx.status == TransactionStatus.COMPLETED
    assert tx.payout_blocked_reason == PayoutBlock.DISPUTED


def test_effects_that_fail_roll_the_event_back_so_stripes_retry_applies_it(
    checkout, fake_stripe, post_event, buyer, product
):
    # given a late success for an item now held by someone else, and Stripe's refund API down
    tx, intent = _start(checkout, fake_stripe, buyer, product)
    post_event(fake_stripe, fake_stripe.settle(intent["id"], succeed=False))
    assert checkout(UserFactory(), product_id=str(product.pk)).status_code == 201
    fake_stripe.payment_intents[intent["id"]]["status"] = "requires_payment_method"
    late = fake_stripe.settle(intent["id"], succeed=True)
    fake_stripe.fail_next("POST", "/v1/refunds", 500)

    # when the event is delivered: 503 and no record of it
    post_event.client.raise_request_exception = False
    first = post_event(fake_stripe, late)
    assert first.status_code == 503
    assert not StripeEvent.objects.filter(event_id=late["id"]).exists()

    # then Stripe's retry applies it
    retry = post_event(fake_stripe, late)
    assert retry.json()["outcome"] == "refunded_late_payment"
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.REFUNDED


# --- signed but malformed events (security review, finding 13) ----------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"created": "abc"},
        {"created": 10**12},
        {"created": -5},
        {"created": True},
        {"id": 12},
        {"type": ["payment_intent.succeeded"]},
    ],
    ids=["created-text", "created-huge", "created-negative", "created-bool", "id-number", "type-list"],
)
def test_a_signed_event_with_bad_fields_is_400_invalid_event(fake_stripe, post_event, change):
    event = fake_stripe.event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    event.update(change)

    response = post_event(fake_stripe, event)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_event"
    assert not StripeEvent.objects.exists()


def test_a_signed_event_whose_metadata_is_a_list_is_400(fake_stripe, post_event):
    event = fake_stripe.event(
        "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "metadata": ["transaction_id"]}
    )

    response = post_event(fake_stripe, event)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_event"
