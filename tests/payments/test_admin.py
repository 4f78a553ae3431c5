from __future__ import annotations

import re
from decimal import Decimal

import pytest

from payments.models import PayoutStatus, Transaction, TransactionStatus
from tests.factories import ProductFactory, UserFactory
from tests.payments.events import dispute_created

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/transaction/"


def _tx(*, amount: str, fee: str, status: str, payout: str) -> Transaction:
    product = ProductFactory(price=Decimal(amount))
    return Transaction.objects.create(
        buyer=UserFactory(),
        seller=product.seller,
        product=product,
        amount=Decimal(amount),
        platform_fee=Decimal(fee),
        seller_payout=Decimal(amount) - Decimal(fee),
        feed_type=product.feed_type,
        status=status,
        payout_status=payout,
    )


def _cell(html: str, css: str) -> str:
    return re.search(rf'class="{css}">([^<]*)<', html).group(1)


def test_finance_screen_totals_follow_the_filters(admin_client):
    # given two completed payments (one released) and one refunded
    _tx(amount="100.00", fee="10.00", status=TransactionStatus.COMPLETED, payout=PayoutStatus.HELD)
    _tx(amount="200.00", fee="20.00", status=TransactionStatus.COMPLETED, payout=PayoutStatus.RELEASED)
    _tx(amount="50.00", fee="5.00", status=TransactionStatus.REFUNDED, payout=PayoutStatus.CANCELLED)

    everything = admin_client.get(CHANGELIST).content.decode()
    completed = admin_client.get(CHANGELIST, {"status__exact": "completed"}).content.decode()

    assert _cell(everything, "total-count") == "3"
    assert _cell(everything, "total-fees") == "35.00"
    assert _cell(completed, "total-count") == "2"
    assert _cell(completed, "total-amount") == "300.00"
    assert _cell(completed, "total-fees") == "30.00"
    assert _cell(completed, "total-payouts") == "270.00"
    assert _cell(completed, "total-released") == "180.00"
    assert _cell(completed, "total-held") == "90.00"


def test_staff_refund_action_refunds_through_stripe(admin_client, fake_stripe, paid):
    response = admin_client.post(
        CHANGELIST, {"action": "refund_selected", "_selected_action": [str(paid.pk)]}, follow=True
    )

    assert response.status_code == 200
    paid.refresh_from_db()
    assert paid.status == TransactionStatus.REFUNDED
    assert paid.payout_status == PayoutStatus.CANCELLED
    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1


def test_disputes_are_visible_in_the_admin(admin_client, fake_stripe, post_event, paid):
    post_event(
        fake_stripe,
        dispute_created(fake_stripe, charge_id=paid.stripe_charge_id, intent_id=paid.stripe_payment_intent_id),
    )

    disputed = admin_client.get(CHANGELIST, {"disputed": "yes"}).content.decode()
    undisputed = admin_client.get(CHANGELIST, {"disputed": "no"}).content.decode()

    assert _cell(disputed, "total-count") == "1"
    assert _cell(undisputed, "total-count") == "0"


def test_moderator_can_view_but_not_refund(client, moderator, fake_stripe, paid):
    client.force_login(moderator)

    assert client.get(CHANGELIST).status_code == 200
    client.post(CHANGELIST, {"action": "refund_selected", "_selected_action": [str(paid.pk)]})

    paid.refresh_from_db()
    assert paid.status == TransactionStatus.COMPLETED
    assert not fake_stripe.calls("POST", "/v1/refunds")


def test_staff_release_action_transfers_and_is_audited(admin_client, fake_stripe, onboarded_seller, paid):
    from django.contrib.admin.models import LogEntry

    response = admin_client.post(
        CHANGELIST, {"action": "release_selected", "_selected_action": [str(paid.pk)]}, follow=True
    )

    assert response.status_code == 200
    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.RELEASED
    assert len(fake_stripe.transfers) == 1
    entry = LogEntry.objects.get(object_id=str(paid.pk))
    assert "released by staff" in entry.get_change_message()


def test_a_moderator_who_may_only_view_cannot_release(client, moderator, fake_stripe, onboarded_seller, paid):
    client.force_login(moderator)

    client.post(CHANGELIST, {"action": "release_selected", "_selected_action": [str(paid.pk)]})

    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.HELD
    assert fake_stripe.transfers == {}


def test_events_that_changed_nothing_are_listed_for_staff(admin_client, fake_stripe, post_event):
    event = fake_stripe.event("payment_intent.succeeded", {"id": "pi_elsewhere", "metadata": {}})
    post_event(fake_stripe, event)

    listed = admin_client.get("/admin/payments/stripeevent/", {"applied__exact": "0"}).content.decode()

    assert event["id"] in listed
