"""Stripe event payloads the stand-in does not produce by itself (refunds and disputes made in
Stripe's dashboard, or by the card network)."""

from __future__ import annotations

from payments.testing.fake_stripe import FakeStripe


def charge_refunded(
    fake: FakeStripe, *, charge_id: str, intent_id: str, amount_refunded: int = 14900, refund_id: str | None = None
) -> dict:
    charge = {
        "id": charge_id,
        "object": "charge",
        "payment_intent": intent_id,
        "amount": 14900,
        "amount_refunded": amount_refunded,
        "currency": "aed",
        "refunded": amount_refunded == 14900,
    }
    if refund_id:
        charge["refunds"] = {"data": [{"id": refund_id}]}
    return fake.event("charge.refunded", charge)


def dispute_created(fake: FakeStripe, *, charge_id: str, intent_id: str) -> dict:
    dispute = {"id": "dp_1", "object": "dispute", "charge": charge_id, "payment_intent": intent_id, "amount": 14900}
    return fake.event("charge.dispute.created", dispute)
