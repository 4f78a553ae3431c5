"""Row locks on messaging's rows; the lock order is in catalog/locks.py (product before offer)."""

from __future__ import annotations

from typing import Any

from messaging.models import Offer


def offer_for_update(*, offer_id: Any) -> Offer:
    """Lock one offer (its conversation loaded, not locked)."""
    return Offer.objects.select_for_update(of=("self",)).select_related("conversation").get(pk=offer_id)
