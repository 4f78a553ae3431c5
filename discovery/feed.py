"""The signed-in Discover feed: the global rank blended with what this person cares about.

    score = hot_score
            + CATEGORY_WEIGHT * category_share      (0..1: the category's share of their signals)
            + SELLER_WEIGHT   * seller_affinity     (0..1: followed, bought from, liked 3+ of theirs)
            + AREA_WEIGHT     * nearness            (0..1: 1 at their saved location, 0 from AREA_KM)

``hot_score`` (catalog.ranking) counts freshness in half-lives of a day plus log2 of the
popularity, so the weights read in days: a listing in a category that is all of someone's
signals ranks level with an otherwise equal one three days fresher. Signals: likes (1 each),
purchases (3), saved searches naming a category (2); sellers: a follow or a purchase makes
the affinity 1, likes count a third each.

Candidates: the global top ``DISCOVER_PERSONAL_CANDIDATES`` by ``hot_score`` (the Discover
index), plus the freshest-ranked listings of their top categories and of their sellers;
their own listings and blocked (either way) sellers' are left out in SQL. The candidates are
re-ranked here and made diverse (never more than ``MAX_RUN`` in a row from one seller), and
the order is kept as a snapshot in the cache for ``DISCOVER_PERSONAL_TTL_SECONDS``: the
cursor is (snapshot, offset), so scrolling never duplicates or skips an item while new
listings arrive. The feed ends with the snapshot (``?personalised=false`` scrolls on).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.core.cache import cache
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Block, Follow
from catalog.models import FeedType, Product, ProductLike
from catalog.personalisation import PersonalPage
from catalog.selectors import product_rows
from discovery.models import SavedSearch
from payments.models import Transaction, TransactionStatus
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import ValidationError

CATEGORY_WEIGHT = 3.0
SELLER_WEIGHT = 3.0
AREA_WEIGHT = 0.5
AREA_KM = 10.0
MAX_RUN = 3
TOP_CATEGORIES = 3
AFFINITY_CANDIDATES = 100
SIGNAL_LIKES = 300  # the most recent likes read
_BOUGHT = (TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED, TransactionStatus.DISPUTED)


class Affinities:
    """What one person's signals say: category shares, seller affinities, area, exclusions."""

    def __init__(self, *, user: Any, exclude_like_ids: Iterable[Any] = ()) -> None:
        categories: Counter[str] = Counter()
        seller_likes: Counter[Any] = Counter()
        likes = ProductLike.objects.filter(user_id=user.pk).exclude(pk__in=list(exclude_like_ids))
        for category, seller_id in likes.order_by("-created_at").values_list("product__category", "product__seller_id")[
            :SIGNAL_LIKES
        ]:
            categories[category] += 1
            seller_likes[seller_id] += 1
        sellers: dict[Any, float] = {seller: min(1.0, count / 3) for seller, count in seller_likes.items()}
        for seller_id in Follow.objects.filter(follower_id=user.pk).values_list("following_id", flat=True)[:500]:
            sellers[seller_id] = 1.0
        purchases = Transaction.objects.filter(buyer_id=user.pk, status__in=_BOUGHT)
        for seller_id, category in purchases.values_list("seller_id", "product__category")[:200]:
            sellers[seller_id] = 1.0
            categories[category] += 3
        for category in (
            SavedSearch.objects.filter(user_id=user.pk).exclude(category="").values_list("category", flat=True)
        ):
            categories[category] += 2
        total = sum(categories.values())
        self.category_share = {category: count / total for category, count in categories.items()} if total else {}
        self.sellers = sellers
        blocks = Block.objects.filter(Q(blocker_id=user.pk) | Q(blocked_id=user.pk)).values_list(
            "blocker_id", "blocked_id"
        )
        self.hidden_sellers = {user.pk} | {other for pair in blocks for other in pair if other != user.pk}
        self.location = getattr(user, "location", None)

    def top_categories(self) -> list[str]:
        ranked = sorted(self.category_share.items(), key=lambda item: -item[1])
        return [category for category, _share in ranked[:TOP_CATEGORIES]]

    def score(self, row: dict[str, Any]) -> float:
        nearness = 0.0
        metres = row.get("user_metres")
        if metres is not None:
            nearness = max(0.0, 1.0 - metres / (AREA_KM * 1000.0))
        return (
            row["hot_score"]
            + CATEGORY_WEIGHT * self.category_share.get(row["category"], 0.0)
            + SELLER_WEIGHT * self.sellers.get(row["seller_id"], 0.0)
            + AREA_WEIGHT * nearness
        )


def _candidates(affinities: Affinities, *, category: str | None) -> list[dict[str, Any]]:
    """Global top plus affinity candidates (three indexed queries), without duplicates."""
    base = Product.objects.filter(feed_type=FeedType.DISCOVER, is_available=True, deleted_at__isnull=True).exclude(
        seller_id__in=list(affinities.hidden_sellers)
    )
    if category:
        base = base.filter(category=category)
    fields = ["id", "seller_id", "category", "hot_score"]
    if affinities.location is not None:
        base = base.annotate(user_metres=Distance("location", affinities.location))
        fields.append("user_metres")
    ordered = base.order_by("-hot_score", "-id")
    queries = [ordered[: settings.DISCOVER_PERSONAL_CANDIDATES]]
    top = [c for c in affinities.top_categories() if not category or c == category]
    if top:
        queries.append(ordered.filter(category__in=top)[:AFFINITY_CANDIDATES])
    sellers = sorted(affinities.sellers, key=lambda seller: -affinities.sellers[seller])[:100]
    if sellers:
        queries.append(ordered.filter(seller_id__in=sellers)[:AFFINITY_CANDIDATES])
    seen: dict[Any, dict[str, Any]] = {}
    for query in queries:
        for row in query.values(*fields):
            if row.get("user_metres") is not None and not isinstance(row["user_metres"], float):
                row["user_metres"] = float(getattr(row["user_metres"], "m", row["user_metres"]))
            seen.setdefault(row["id"], row)
    return list(seen.values())


def diversify(rows: list[dict[str, Any]], *, max_run: int = MAX_RUN) -> list[dict[str, Any]]:
    """Keep the order but never more than ``max_run`` in a row from one seller: an item that
    would make a longer run waits for the next place another seller's item takes. Items that
    can never be placed (only one seller left) are dropped from the snapshot."""
    result: list[dict[str, Any]] = []
    rest = list(rows)
    while rest:
        for index, item in enumerate(rest):
            seller = item["seller_id"]
            if len(result) < max_run or any(prior["seller_id"] != seller for prior in result[-max_run:]):
                result.append(rest.pop(index))
                break
        else:
            break
    return result


def personal_ranking(*, user: Any, category: str | None = None, exclude_like_ids: Iterable[Any] = ()) -> list[str]:
    """Listing ids, best first, for ``user`` (the snapshot)."""
    affinities = Affinities(user=user, exclude_like_ids=exclude_like_ids)
    rows = _candidates(affinities, category=category)
    for row in rows:
        row["score"] = affinities.score(row)
    rows.sort(key=lambda row: (-row["score"], -row["hot_score"], str(row["id"])))
    return [str(row["id"]) for row in diversify(rows)]


def _snapshot_key(user: Any, category: str | None, token: str) -> str:
    return f"discover:personal:{user.pk}:{category or '-'}:{token}"


def _decode(cursor: str) -> tuple[str, int]:
    try:
        token, offset = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        if not isinstance(token, str) or len(token) != 32 or int(offset) < 0:
            raise ValueError
        return token, int(offset)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValidationError(_("Invalid cursor."), code="invalid_cursor", attr="cursor") from exc


def _encode(token: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([token, offset]).encode()).decode()


def _keep_snapshot(key: str, ids: list[str]) -> None:
    try:
        cache.set(key, ids, timeout=settings.DISCOVER_PERSONAL_TTL_SECONDS)
    except CACHE_UNAVAILABLE:
        return  # none kept: the next page ranks again at its offset


def personal_discover_page(*, user: Any, category: str | None, cursor: str | None, limit: int) -> PersonalPage:
    """One page of the personalised feed (registered with catalog.personalisation)."""
    token, offset = _decode(cursor) if cursor else (uuid.uuid4().hex, 0)
    key = _snapshot_key(user, category, token)
    ids: list[str] | None = None
    if cursor:
        try:
            ids = cache.get(key)
        except CACHE_UNAVAILABLE:
            ids = None
    if ids is None:  # first page, or the snapshot expired: rank again (the offset stays)
        ids = personal_ranking(user=user, category=category)
        _keep_snapshot(key, ids)
    page_ids = ids[offset : offset + limit]
    rows = {str(row["id"]): row for row in product_rows(user=user).filter(id__in=page_ids)} if page_ids else {}
    ordered = [rows[pk] for pk in page_ids if pk in rows]  # sold or hidden since: left out
    next_cursor = _encode(token, offset + limit) if offset + limit < len(ids) else None
    return PersonalPage(rows=ordered, next_cursor=next_cursor)


def recall_at(ranked: list[str], held_out: set[str], k: int = 20) -> float:
    return len(set(ranked[:k]) & held_out) / len(held_out) if held_out else math.nan
