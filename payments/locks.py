"""Row locks on payments' rows; the lock order is in catalog/locks.py (product, then offer,
then transaction, then the payout and seller debt that hang off it)."""

from __future__ import annotations

from typing import Any

from payments.models import Transaction


def transaction_for_update(*, transaction_id: Any) -> Transaction | None:
    return Transaction.objects.select_for_update().filter(pk=transaction_id).first()


def transaction_locked(*, transaction_id: Any) -> Transaction:
    """Lock a transaction the caller knows exists (transactions are never deleted)."""
    return Transaction.objects.select_for_update().get(pk=transaction_id)
