"""Reads of listings. Other apps may call these (and ``ProductSummarySerializer``).

Backend differences live here and only here: on PostGIS, distance ordering uses the KNN
operator ``<->`` (GiST index order), full-text search uses the trigger-kept ``search_vector``
plus trigram word similarity; on SpatiaLite, plain distance ordering and ``icontains``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast

from catalog.models import FeedType, Product, ProductLike
from soukloop.geo import is_postgis

SEARCH_CONFIG = "english"
# Ranks of the community feed's tiers; distance in metres is added, and never reaches a tier.
TIER_STRIDE_M = 1_000_000.0

# What a list row needs: no description, no search vector, no GEOS point (lat/lng come as floats).
LIST_DEFER = ("description", "search_vector", "location", "video_thumbnail_url", "deleted_at")


class PointX(Func):
    """Longitude of a point column as a float, computed by the database (no GEOS per row)."""

    function = "ST_X"
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="ST_X(%(expressions)s::geometry)", **extra_context)


class PointY(PointX):
    function = "ST_Y"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="ST_Y(%(expressions)s::geometry)", **extra_context)


def products_visible() -> QuerySet[Product]:
    """Every listing that has not been deleted (hidden), sold or not."""
    return Product.objects.filter(deleted_at__isnull=True)


def product_get_visible(*, product_id: Any) -> Product | None:
    return products_visible().select_related("seller").filter(pk=product_id).first()


def products_for_list(*, user: Any = None, include_sold: bool = False) -> QuerySet[Product]:
    """The lean base of every list: seller joined, heavy columns deferred, coordinates and
    the caller's ``is_liked`` annotated. One query per page whatever its size."""
    qs = products_visible()
    if not include_sold:
        qs = qs.filter(is_available=True)
    qs = (
        qs.select_related("seller")
        .defer(*LIST_DEFER)
        .only(
            *(f.name for f in Product._meta.concrete_fields if f.name not in LIST_DEFER),
            "seller__id",
            "seller__username",
            "seller__full_name",
            "seller__avatar_url",
            "seller__is_verified",
            "seller__verification_status",
        )
        .annotate(lng=PointX("location"), lat=PointY("location"))
    )
    return with_is_liked(qs, user=user)


def with_is_liked(qs: QuerySet[Product], *, user: Any) -> QuerySet[Product]:
    if user is not None and getattr(user, "is_authenticated", False):
        return qs.annotate(is_liked=Exists(ProductLike.objects.filter(product=OuterRef("pk"), user=user)))
    return qs.annotate(is_liked=Value(False))


def products_for_seller(*, username: str, user: Any = None) -> QuerySet[Product]:
    """A person's available listings, newest first."""
    return products_for_list(user=user).filter(seller__username__iexact=username).order_by("-created_at", "-id")


def products_near(qs: QuerySet[Product], *, point: Point, radius_km: float) -> QuerySet[Product]:
    """Within ``radius_km`` (GiST-indexed ``ST_DWithin``; metres as a bare number work on both
    backends) with ``distance`` annotated by the database."""
    return qs.filter(location__dwithin=(point, radius_km * 1000.0)).annotate(distance=Distance("location", point))


def order_by_distance(qs: QuerySet[Product], *, point: Point) -> QuerySet[Product]:
    if is_postgis():
        # KNN: the GiST index returns rows in distance order (0.3-0.8 ms at 1M rows).
        return qs.order_by(GeometryDistance("location", point), "id")
    return qs.order_by("distance", "id")


def search_text(qs: QuerySet[Product], *, q: str) -> QuerySet[Product]:
    """Full-text search annotated with ``relevance``."""
    q = q.strip()
    if not q:
        return qs.annotate(relevance=Value(0.0, output_field=FloatField()))
    if is_postgis():
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        # Word similarity catches typos ("yezy" -> "Yeezy") through the trigram GIN index.
        return qs.filter(Q(search_vector=query) | Q(title__trigram_word_similar=q)).annotate(
            relevance=ExpressionWrapper(
                SearchRank(F("search_vector"), query) + TrigramWordSimilarity(q, "title"),
                output_field=FloatField(),
            )
        )
    words = q.split()
    match = Q()
    for word in words:
        match &= Q(title__icontains=word) | Q(description__icontains=word) | Q(tags__icontains=word)
    return qs.filter(match).annotate(
        relevance=Case(When(title__icontains=q, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    )


ORDERINGS: dict[str, tuple[Any, ...]] = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "-created_at", "-id"),
    "-price": ("-price", "-created_at", "-id"),
    "popular": ("-like_count", "-view_count", "-created_at", "-id"),
    "relevance": ("-relevance", "-created_at", "-id"),
}


def products_search(
    qs: QuerySet[Product],
    *,
    q: str | None = None,
    point: Point | None = None,
    radius_km: float | None = None,
    ordering: str = "newest",
) -> QuerySet[Product]:
    """Apply the text and geo parts of a search and its ordering (validated by the caller)."""
    if q:
        qs = search_text(qs, q=q)
    if point is not None:
        qs = products_near(qs, point=point, radius_km=radius_km or float(settings.MAX_SEARCH_RADIUS_KM))
    if ordering == "distance" and point is not None:
        return order_by_distance(qs, point=point)
    if ordering == "relevance" and not q:
        ordering = "newest"
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS["newest"]))


def discover_feed(*, user: Any = None, category: str | None = None) -> QuerySet[Product]:
    """Discover listings; the pagination orders them by ``-hot_score, -id`` (see ranking)."""
    qs = products_for_list(user=user).filter(feed_type=FeedType.DISCOVER)
    if category:
        qs = qs.filter(category=category)
    return qs


def community_feed(
    *,
    point: Point,
    neighborhood: str = "",
    building_name: str = "",
    radius_km: float | None = None,
    user: Any = None,
    category: str | None = None,
) -> QuerySet[Product]:
    """Community listings within the community radius, annotated with ``community_rank``:
    same building (tier 0), same neighbourhood (tier 1), the rest (tier 2), each by distance.
    One number, so a keyset cursor over ``(community_rank, id)`` pages it stably."""
    radius_km = radius_km or float(settings.COMMUNITY_RADIUS_KM)
    qs = products_for_list(user=user).filter(feed_type=FeedType.COMMUNITY)
    if category:
        qs = qs.filter(category=category)
    qs = products_near(qs, point=point, radius_km=radius_km)
    tier_whens = []
    if neighborhood and building_name:
        tier_whens.append(When(neighborhood__iexact=neighborhood, building_name__iexact=building_name, then=Value(0)))
    if neighborhood:
        tier_whens.append(When(neighborhood__iexact=neighborhood, then=Value(1)))
    tier = Case(*tier_whens, default=Value(2), output_field=IntegerField()) if tier_whens else Value(2)
    metres = Distance("location", point)
    return qs.annotate(
        community_tier=tier,
        community_rank=ExpressionWrapper(
            Cast(tier, FloatField()) * Value(TIER_STRIDE_M) + Cast(metres, FloatField()), output_field=FloatField()
        ),
    )


def product_detail(*, product_id: Any, user: Any = None) -> Product | None:
    """One visible listing with everything the detail screen shows."""
    qs = (
        products_visible()
        .select_related("seller")
        .defer("search_vector")
        .annotate(lng=PointX("location"), lat=PointY("location"))
    )
    return with_is_liked(qs, user=user).filter(pk=product_id).first()


def seller_exists(*, username: str) -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__iexact=username, is_active=True).exists()
