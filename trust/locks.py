"""Row locks on trust's rows. A claim hangs off its transaction: lock the transaction first
(``payments.locks``, the documented order buyer account -> product -> offer -> transaction
-> payout/debt), then the claim or review."""

from __future__ import annotations

from typing import Any

from trust.models import Claim


def claim_for_update(*, claim_id: Any) -> Claim | None:
    return Claim.objects.select_for_update().filter(pk=claim_id).first()
