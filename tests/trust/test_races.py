"""PostgreSQL row locks: a moderator's decision, release_payouts and the buyer's confirm-receipt
on one claimed sale at the same instant -> exactly one outcome, the money moved once."""

from __future__ import annotations

import pytest

from payments.models import PayoutStatus, Transaction
from payments.services import payouts_release_due, transaction_confirm_receipt
from tests.concurrency import run_together
from trust import services
from trust.models import Claim, ClaimStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def escalated(onboarded_seller, open_claim):
    claim_id = open_claim().json()["id"]
    Claim.objects.filter(pk=claim_id).update(status=ClaimStatus.ESCALATED)
    return Claim.objects.get(pk=claim_id)


@pytest.mark.parametrize("decision", ["full_refund", "release"])
def test_decision_vs_release_payouts_vs_confirm_receipt(escalated, moderator, buyer, fake_stripe, decision):
    tx_id = escalated.transaction_id

    results = run_together(
        [
            lambda: services.claim_decide(
                claim_id=escalated.pk, moderator=moderator, decision=decision, reason="decided in a race"
            ),
            lambda: payouts_release_due(),
            lambda: transaction_confirm_receipt(transaction_id=tx_id, buyer=buyer),
        ]
    )

    decided, released, confirmed = results
    assert not isinstance(decided, Exception) and not isinstance(released, Exception), results
    # The buyer confirming after a refund has landed is told so (409), whichever ran first.
    if isinstance(confirmed, Exception):
        assert decision == "full_refund" and getattr(confirmed, "code", "") == "payout_cancelled", results
    tx = Transaction.objects.get(pk=tx_id)
    claim = Claim.objects.get(pk=escalated.pk)
    assert claim.status == ClaimStatus.DECIDED
    if decision == "full_refund":
        assert tx.payout_status == PayoutStatus.CANCELLED
        assert len(fake_stripe.refunds) == 1
        assert fake_stripe.transfers == {}
    else:
        assert tx.payout_status == PayoutStatus.RELEASED
        assert len(fake_stripe.transfers) == 1
        assert fake_stripe.refunds == {}


def test_two_moderators_at_once_decide_once(escalated, moderator, fake_stripe):
    from tests.factories import UserFactory

    other = UserFactory(is_staff=True)

    results = run_together(
        [
            lambda: services.claim_decide(
                claim_id=escalated.pk, moderator=moderator, decision="full_refund", reason="a"
            ),
            lambda: services.claim_decide(claim_id=escalated.pk, moderator=other, decision="release", reason="b"),
        ]
    )

    outcomes = sorted(type(r).__name__ for r in results)
    assert outcomes == ["Claim", "Conflict"]
    assert len(fake_stripe.refunds) + len(fake_stripe.transfers) == 1


def test_claim_opened_while_release_payouts_runs(onboarded_seller, paid, auth_client, buyer, fake_stripe):
    """Either the claim holds the payout (201, nothing sent) or the payout went first (409)."""
    from django.utils import timezone

    Transaction.objects.filter(pk=paid.pk).update(receipt_confirmed_at=timezone.now())
    client = auth_client(buyer)
    client.raise_request_exception = False

    results = run_together(
        [
            lambda: client.post(
                f"/api/v1/transactions/{paid.pk}/claim/", {"reason": "other", "description": "x"}, format="json"
            ),
            lambda: payouts_release_due(),
        ]
    )

    claim_response = results[0]
    tx = Transaction.objects.get(pk=paid.pk)
    if claim_response.status_code == 201:
        assert tx.payout_status == PayoutStatus.HELD and fake_stripe.transfers == {}
    else:
        assert claim_response.status_code == 409
        assert tx.payout_status == PayoutStatus.RELEASED and len(fake_stripe.transfers) == 1
