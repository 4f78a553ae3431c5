"""Who holds a listing, and until when: the one answer that checkout, offers, auctions and the
lapse of unpaid accepted offers ask for.

A hold is taken in an app above catalog: an open checkout (payments), an accepted offer within
its hold (messaging), a running auction lot. Each of those apps registers a *hold source* in
its ``AppConfig.ready()``; ``product_hold`` asks them in turn. Catalog owns the question
because a listing is catalog's, and asks through the registry so that the layers keep
pointing down (catalog imports none of the apps that hold things).

Call it with the product row locked (``catalog.locks.product_for_update``): every hold is
taken under that lock, so the answer cannot change before the caller's transaction ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class Hold:
    """``kind``: ``checkout``, ``accepted_offer`` or ``auction``; ``buyer_id``: whom the item is
    held for (``None``: nobody yet, e.g. a lot still running); ``until``: when the hold ends
    unless acted on; ``ref``: the id of the row that holds it (transaction, offer, lot)."""

    kind: str
    buyer_id: Any
    until: datetime | None
    ref: Any


HoldSource = Callable[[Any, datetime], "Hold | None"]

_sources: dict[str, HoldSource] = {}


def register_hold_source(name: str, source: HoldSource) -> None:
    """Register (or replace, by name) a source: ``source(product_id, now)`` gives its hold on
    that listing, or ``None``."""
    _sources[name] = source


def product_hold(*, product_id: Any, now: datetime | None = None) -> Hold | None:
    """The hold on a listing (the first source that has one, in registration order), or ``None``
    when anyone may buy it or make an offer."""
    now = now or timezone.now()
    for source in _sources.values():
        hold = source(product_id, now)
        if hold is not None:
            return hold
    return None


def product_held_for_someone_else(*, product_id: Any, buyer_id: Any, now: datetime | None = None) -> Hold | None:
    """The hold on a listing when it is held for anyone but ``buyer_id`` (or for nobody in
    particular), else ``None``."""
    hold = product_hold(product_id=product_id, now=now)
    if hold is None or (hold.buyer_id is not None and hold.buyer_id == buyer_id):
        return None
    return hold
