"""One claim walked over HTTP through each ending, against the Stripe stand-in, with the money
asserted at each step (the closing walkthrough of docs/trust.md)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from payments.models import Transaction

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


def _escalate(auth_client, seller, claim_id):
    auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/", {"action": "contest", "statement": "As described"}, format="json"
    )
    call_command("escalate_claims")
    assert auth_client(seller).get(f"{CLAIMS}{claim_id}/").json()["status"] == "escalated"


def _tx(claim_id, auth_client, buyer) -> Transaction:
    return Transaction.objects.get(pk=auth_client(buyer).get(f"{CLAIMS}{claim_id}/").json()["transaction"])


def test_seller_accepts_full_refund(open_claim, auth_client, buyer, seller, fake_stripe):
    claim_id = open_claim().json()["id"]
    r = auth_client(seller).post(f"{CLAIMS}{claim_id}/respond/", {"action": "accept_refund"}, format="json")
    assert r.json()["status"] == "resolved"
    tx = _tx(claim_id, auth_client, buyer)
    assert (tx.amount_refunded, tx.payout_status, tx.amount_transferred) == (149, "cancelled", 0)


def test_buyer_accepts_partial(open_claim, auth_client, buyer, seller, onboarded_seller, fake_stripe):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/", {"action": "propose_partial", "amount": "49.00"}, format="json"
    )
    r = auth_client(buyer).post(f"{CLAIMS}{claim_id}/accept-proposal/")
    assert r.json()["status"] == "resolved"
    tx = _tx(claim_id, auth_client, buyer)
    # then the buyer confirms receipt: the reduced payout goes (docs/payments.md: 149 - 49 = 100, fee 10%)
    confirmed = auth_client(buyer).post(f"/api/v1/transactions/{tx.pk}/confirm-receipt/").json()
    assert confirmed["payout_status"] == "released"
    assert confirmed["amount_refunded"] == "49.00" and confirmed["amount_transferred"] == "90.00"


@pytest.mark.parametrize(
    ("form", "refunded", "transferred", "payout"),
    [
        ({"decision_choice": "full_refund", "why": "Counterfeit"}, "149.00", "0.00", "cancelled"),
        ({"decision_choice": "partial_refund", "amount": "49.00", "why": "Scratched"}, "49.00", "0.00", "reduced"),
        ({"decision_choice": "release", "why": "As described"}, "0.00", "134.10", "released"),
    ],
)
def test_moderator_decides(
    open_claim,
    auth_client,
    client,
    moderator,
    buyer,
    seller,
    onboarded_seller,
    fake_stripe,
    form,
    refunded,
    transferred,
    payout,
):
    claim_id = open_claim().json()["id"]
    _escalate(auth_client, seller, claim_id)
    client.force_login(moderator)

    assert client.post(f"/admin/trust/escalatedclaim/{claim_id}/change/", form).status_code == 302

    body = auth_client(buyer).get(f"{CLAIMS}{claim_id}/").json()
    assert body["status"] == "decided" and body["decision"]["outcome"] == form["decision_choice"]
    tx = auth_client(buyer).get(f"/api/v1/transactions/{body['transaction']}/").json()
    assert (tx["amount_refunded"], tx["amount_transferred"], tx["payout_status"]) == (refunded, transferred, payout)


def test_buyer_withdraws(open_claim, auth_client, buyer, onboarded_seller, fake_stripe):
    claim_id = open_claim().json()["id"]
    assert auth_client(buyer).post(f"{CLAIMS}{claim_id}/withdraw/").json()["status"] == "withdrawn"
    tx = _tx(claim_id, auth_client, buyer)
    confirmed = auth_client(buyer).post(f"/api/v1/transactions/{tx.pk}/confirm-receipt/").json()
    assert confirmed["payout_status"] == "released" and confirmed["amount_transferred"] == "134.10"
