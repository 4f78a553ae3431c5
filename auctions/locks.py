"""Row locks of the auctions app. Order: the auction row first, then catalog's product row."""

from __future__ import annotations

from typing import Any

from auctions.models import Auction


def auction_for_update(*, auction_id: Any) -> Auction | None:
    """The lot, locked until the transaction ends (every bid and the close take this lock)."""
    return Auction.objects.select_for_update().filter(pk=auction_id).first()
