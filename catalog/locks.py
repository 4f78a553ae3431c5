"""Row locks on catalog's rows, taken by name. The one lock order of the whole project
(a process that needs several takes them in this order, so two never wait on each other):

    buyer account (checkout's per-buyer limits) → product → offer → transaction → payout/debt

Listed once here and followed in messaging/locks.py and payments/locks.py."""

from __future__ import annotations

from typing import Any

from catalog.models import Product


def product_for_update(*, product_id: Any, visible_only: bool = False) -> Product | None:
    """Lock one listing (``None`` when absent, or hidden with ``visible_only``)."""
    qs = Product.objects.select_for_update()
    if visible_only:
        qs = qs.filter(deleted_at__isnull=True)
    return qs.filter(pk=product_id).first()


def product_locked(*, product_id: Any) -> Product:
    """Lock a listing the caller already holds a reference to (it cannot vanish: listings are
    hidden, never deleted, while anything refers to them)."""
    return Product.objects.select_for_update().get(pk=product_id)
