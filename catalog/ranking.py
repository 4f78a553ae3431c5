"""How the Discover feed ranks listings: freshness and popularity with time decay.

    hot_score = age_in_half_lives + log2(1 + LIKE_WEIGHT * likes + VIEW_WEIGHT * views)

where ``age_in_half_lives`` is the creation time counted in half-lives (24 h) since a fixed
epoch. Comparing two scores is the same as comparing ``popularity * 2 ** (-age / 24 h)``: a
listing one day older needs twice the popularity to rank level with a new one, so attention
decays exponentially with age (Hacker News / Reddit "hot" style). One like is worth ten views.

The score does not depend on "now", so it is stored on the row (``Product.hot_score``),
indexed, and the feed paginates with a keyset cursor: new listings arriving at the top never
shift the pages a client is already reading. Likes and views update it in the same UPDATE
that bumps the counters (F() expressions, no lost increments).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.db.models import Expression, F, FloatField, Value
from django.db.models.functions import Cast, Ln

HALF_LIFE_HOURS = 24.0
LIKE_WEIGHT = 1.0
VIEW_WEIGHT = 0.1
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_LN2 = math.log(2)


def freshness(created_at: datetime) -> float:
    return (created_at - EPOCH).total_seconds() / (HALF_LIFE_HOURS * 3600)


def hot_score(*, created_at: datetime, like_count: int, view_count: int) -> float:
    return freshness(created_at) + math.log2(1 + LIKE_WEIGHT * like_count + VIEW_WEIGHT * view_count)


def hot_score_expression(*, created_at: datetime, like_delta: int = 0, view_delta: int = 0) -> Expression:
    """The score as SQL over the row's own counters (plus the deltas the same UPDATE applies)."""
    likes = Cast(F("like_count") + like_delta, FloatField())
    views = Cast(F("view_count") + view_delta, FloatField())
    popularity = Value(1.0) + Value(LIKE_WEIGHT) * likes + Value(VIEW_WEIGHT) * views
    return Value(freshness(created_at)) + Ln(popularity) / Value(_LN2)
