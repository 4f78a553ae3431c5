"""What trust does when other apps' events commit (registered in ``TrustConfig.ready``)."""

from __future__ import annotations

from soukloop.events import Event
from trust.services import claim_settle_refunded


def deliver(event: Event) -> None:
    if event.type == "transaction.refunded":
        claim_settle_refunded(transaction_id=event.data["transaction_id"])
