"""Reads of saved searches: a person's list, and the percolator's index queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from discovery.models import SavedSearch

# What the percolator reads of a candidate (its own state included, so settling it needs no
# second read).
CANDIDATE_VALUES = (
    "id",
    "user_id",
    "name",
    "params",
    "q_words",
    "pending_count",
    "pending_titles",
    "pending_since",
    "last_alerted_at",
)


def saved_searches_of(*, user: Any) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def saved_search_candidates(*, listing: Mapping[str, Any], words: set[str]) -> list[dict[str, Any]]:
    """The alerting searches a new listing may match, found through the index: its category
    or none, a key word the listing contains (or no text), an area box that holds it (GiST),
    and the price; the database checks the exact circle. Saved after the listing was created
    or by its seller: never."""
    qs = SavedSearch.objects.filter(
        alerts=True,
        category__in=[listing["category"], ""],
        q_key__in=["", *words],
        created_at__lt=listing["created_at"],
    ).exclude(user_id=listing["seller_id"])
    price = listing["price"]
    qs = qs.filter(
        Q(min_price__isnull=True) | Q(min_price__lte=price), Q(max_price__isnull=True) | Q(max_price__gte=price)
    )
    point = listing["location"]
    if point is None:
        qs = qs.filter(center__isnull=True)
    else:
        qs = qs.filter(area__intersects=point).filter(
            Q(center__isnull=True) | Q(center__dwithin=(point, F("radius_m")))
        )
    return list(qs.values(*CANDIDATE_VALUES))


def saved_searches_waiting(*, due_before: datetime, limit: int = 5000) -> list[dict[str, Any]]:
    """Searches holding matches whose alert window is over (partial index on pending ones)."""
    qs = SavedSearch.objects.filter(pending_count__gt=0, last_alerted_at__lte=due_before).order_by("pending_since")
    return list(qs.values(*CANDIDATE_VALUES)[:limit])
