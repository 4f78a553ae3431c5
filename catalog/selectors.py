"""Reads of listings. Other apps may call these (and ``ProductSummarySerializer``).

Backend differences live here and only here: on PostGIS, distance ordering uses the KNN
operator ``<->`` (GiST index order), full-text search uses the trigger-kept ``search_vector``
plus trigram word similarity; on SpatiaLite, plain distance ordering and ``icontains``.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Upper
from django.utils import timezone

from catalog.models import FeedType, Product, ProductLike
from soukloop.geo import is_postgis

SEARCH_CONFIG = "english"
ZERO = timedelta(0)

# What a list row needs: no description, no search vector, no GEOS point (lat/lng come as floats).
LIST_DEFER = ("description", "search_vector", "location", "video_thumbnail_url", "deleted_at")

# The columns and annotations a list row is built from (``QuerySet.values(*LIST_VALUES)``):
# no model instances, no GEOS points, one dict build per row.
LIST_VALUES = (
    "id",
    "title",
    "price",
    "original_price",
    "currency",
    "category",
    "condition",
    "feed_type",
    "lat",
    "lng",
    "neighborhood",
    "building_name",
    "image_urls",
    "video_url",
    "tags",
    "is_available",
    "sold_at",
    "view_count",
    "like_count",
    "is_liked",
    "created_at",
    "updated_at",
    "seller_id",
    "seller__username",
    "seller__full_name",
    "seller__avatar_url",
    "seller__is_verified",
    "seller__verification_status",
)


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


@functools.cache
def _rows_base(*, anonymous: bool) -> QuerySet[Product]:
    # Built once per process (the ORM's expression and join setup is a good part of a list
    # request's cost) and never evaluated itself: ``product_rows`` hands out clones. Rows are
    # ``LIST_VALUES`` dicts (plus ``hot_score`` for the Discover cursor); annotations added
    # later (``distance``, ``is_liked`` for a signed-in caller...) join the dicts on their own.
    qs = products_visible().annotate(lng=PointX("location"), lat=PointY("location"))
    if anonymous:
        return with_is_liked(qs, user=None).values(*LIST_VALUES, "hot_score")
    return qs.values(*(name for name in LIST_VALUES if name != "is_liked"), "hot_score")


def product_rows(*, user: Any = None, include_sold: bool = False) -> QuerySet[Product]:
    """The base of the list endpoints: ``LIST_VALUES`` dicts rather than model instances, so no
    ``select_related`` or deferred columns to set up (``values`` joins the seller)."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    qs = _rows_base(anonymous=not signed_in).all()
    if not include_sold:
        qs = qs.filter(is_available=True)
    return with_is_liked(qs, user=user) if signed_in else qs


def with_is_liked(qs: QuerySet[Product], *, user: Any) -> QuerySet[Product]:
    if user is not None and getattr(user, "is_authenticated", False):
        return qs.annotate(is_liked=Exists(ProductLike.objects.filter(product=OuterRef("pk"), user=user)))
    return qs.annotate(is_liked=Value(False))


def products_for_seller(*, username: str, user: Any = None) -> QuerySet[Product]:
    """A person's available listings, newest first."""
    return product_rows(user=user).filter(seller__username__iexact=username).order_by("-created_at", "-id")


class InExpandedBox(Func):
    """``location && _st_expand(point, metres)``: the GiST bounding-box test (PostGIS only)."""

    output_field = BooleanField()

    def __init__(self, expression: Any, *, point: Point, metres: float) -> None:
        super().__init__(expression)
        self.point, self.metres = point, metres

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.get_source_expressions()[0])
        return f"({column} && _st_expand(%s::geography, %s))", [*params, self.point.ewkt, self.metres]


def products_near(qs: QuerySet[Product], *, point: Point, radius_km: float) -> QuerySet[Product]:
    """Within ``radius_km``, with ``distance`` (spheroid on PostGIS) annotated by the database.

    SpatiaLite: ``dwithin`` with metres as a bare number. PostGIS: the same test written as
    the GiST box overlap plus the KNN distance. ``ST_DWithin`` is estimated by the planner at a
    handful of rows whatever the radius, so it sorted all ~25,000 rows within 5 km at 100k
    listings (1.1 s measured) instead of walking the index in distance order (0.4 ms).
    """
    metres = radius_km * 1000.0
    if is_postgis():
        qs = (
            qs.filter(InExpandedBox("location", point=point, metres=metres))
            .annotate(knn_metres=GeometryDistance("location", point))
            .filter(knn_metres__lte=metres)
        )
    else:
        qs = qs.filter(location__dwithin=(point, metres))
    return qs.annotate(distance=Distance("location", point))


def order_by_distance(qs: QuerySet[Product], *, point: Point) -> QuerySet[Product]:
    if is_postgis():
        # KNN: the GiST index returns rows in distance order (0.3-0.8 ms at 1M rows).
        return qs.order_by(GeometryDistance("location", point))
    return qs.order_by("distance", "id")


def search_text(qs: QuerySet[Product], *, q: str, rank: bool = True) -> QuerySet[Product]:
    """Full-text search, annotated with ``relevance`` when ``rank`` (only ranked orderings
    need it: ranking every match costs more than finding it)."""
    q = q.strip()
    if not q:
        return qs
    if is_postgis():
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        # Word similarity catches typos ("yezy" -> "Yeezy") through the trigram GIN index.
        qs = qs.filter(Q(search_vector=query) | Q(title__trigram_word_similar=q))
        if not rank:
            return qs
        return qs.annotate(
            relevance=ExpressionWrapper(
                SearchRank(F("search_vector"), query) + TrigramWordSimilarity(q, "title"),
                output_field=FloatField(),
            )
        )
    words = q.split()
    match = Q()
    for word in words:
        match &= Q(title__icontains=word) | Q(description__icontains=word) | Q(tags__icontains=word)
    if not rank:
        return qs.filter(match)
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
) -> QuerySet[Product] | NewestMatches:
    """Apply the text and geo parts of a search and its ordering (validated by the caller)."""
    if q:
        qs = search_text(qs, q=q, rank=ordering == "relevance")
    if point is not None:
        qs = products_near(qs, point=point, radius_km=radius_km or float(settings.MAX_SEARCH_RADIUS_KM))
    if ordering == "distance" and point is not None:
        return order_by_distance(qs, point=point)
    if ordering == "relevance" and not q:
        ordering = "newest"
    if q and ordering == "newest" and is_postgis():
        return NewestMatches(qs)
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS["newest"]))


# Newest-first text search reads the last day's matches first (see NewestMatches).
SEARCH_RECENT_WINDOW = timedelta(days=1)
# Sort the matches rather than walk the created_at index filtering every row: a rare or
# misspelt word walked all 100k rows that way (~1 s measured).
_NEWEST_MATCH_ORDER = (ExpressionWrapper(F("created_at") + Value(ZERO), output_field=DateTimeField()).desc(), "-id")


class NewestMatches:
    """The matches of a text search, newest first; sliced like a queryset (as the page
    pagination does), which gives that page's rows.

    A common word matches thousands of listings, and sorting all of them for the newest 20
    costs a heap visit and a recheck each (13-15 ms for ~2,000 matches at 100k listings).
    A slice first reads the matches of the last day (``SEARCH_RECENT_WINDOW``): the GIN
    bitmap ANDed with the created_at range, a few hundred rows at most (~4 ms). Only when
    those cannot fill the slice does a second query read the older matches, so a page costs
    one query or two, whatever its size. (A single ``UNION ALL`` of the two measured slower:
    PostgreSQL plans every branch of it, ~3 ms, even when the first fills the page.)
    """

    def __init__(self, qs: QuerySet[Product]) -> None:
        self.qs = qs

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        if not isinstance(item, slice) or item.stop is None or (item.step or 1) != 1:
            raise TypeError("NewestMatches takes a bounded slice.")
        start, stop = item.start or 0, item.stop
        edge = timezone.now() - SEARCH_RECENT_WINDOW
        recent = list(self.qs.filter(created_at__gte=edge).order_by(*_NEWEST_MATCH_ORDER)[:stop])
        if len(recent) >= stop:
            return recent[start:]
        # All of the window's matches are in ``recent``: the rest of the slice is older.
        older = self.qs.filter(created_at__lt=edge).order_by(*_NEWEST_MATCH_ORDER)
        return recent[start:] + list(older[max(0, start - len(recent)) : stop - len(recent)])


def discover_feed(*, user: Any = None, category: str | None = None) -> QuerySet[Product]:
    """Discover listings; the pagination orders them by ``-hot_score, -id`` (see ranking)."""
    qs = product_rows(user=user).filter(feed_type=FeedType.DISCOVER)
    if category:
        qs = qs.filter(category=category)
    return qs


COMMUNITY_TIERS = (0, 1, 2)  # same building, same neighbourhood, the rest


def community_feed_page(
    *,
    point: Point,
    neighborhood: str = "",
    building_name: str = "",
    radius_km: float | None = None,
    user: Any = None,
    category: str | None = None,
    after: tuple[int, float, str] | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Community listings within the community radius: same building (tier 0), then same
    neighbourhood (tier 1), then the rest (tier 2), each nearest first.

    Keyset pagination over ``(tier, distance, id)``: ``after`` is the last row of the previous
    page, so listings that arrive meanwhile never duplicate or skip rows. One query per tier
    still needed (at most three, whatever the page size); each is cheap because it walks an
    index: the neighbourhood/building expression index for tiers 0-1, the GiST index in
    distance order (KNN) for tier 2, instead of ranking every listing within the radius.
    """
    radius_km = radius_km or float(settings.COMMUNITY_RADIUS_KM)
    base = product_rows(user=user).filter(feed_type=FeedType.COMMUNITY)
    if category:
        base = base.filter(category=category)
    base = products_near(base, point=point, radius_km=radius_km)
    if not is_postgis():
        base = base.annotate(knn_metres=Cast(Distance("location", point), FloatField()))
    same_hood = Q(neighborhood_upper=neighborhood.upper())
    same_building = same_hood & Q(building_upper=building_name.upper())
    tier_filters = {
        0: same_building if neighborhood and building_name else None,
        1: (same_hood & ~same_building if building_name else same_hood) if neighborhood else None,
        2: ~same_hood if neighborhood else Q(),
    }
    if neighborhood:  # only the tier filters read these
        base = base.annotate(neighborhood_upper=Upper("neighborhood"), building_upper=Upper("building_name"))
    rows: list[dict[str, Any]] = []
    for tier in COMMUNITY_TIERS:
        condition = tier_filters[tier]
        if condition is None or (after is not None and tier < after[0]):
            continue
        qs = base.filter(condition).annotate(community_tier=Value(tier, output_field=IntegerField()))
        if after is not None and tier == after[0]:
            _, last_metres, last_id = after
            qs = qs.filter(Q(knn_metres__gt=last_metres) | Q(knn_metres=last_metres, id__gt=last_id))
        wanted = limit + 1 - len(rows)
        rows.extend(_nearest_first(qs, wanted))
        if len(rows) > limit:
            break
    return rows


def _nearest_first(qs: QuerySet[Product], count: int) -> list[dict[str, Any]]:
    """``count`` rows ordered by (distance, id). On PostGIS the candidates come from a KNN walk
    of the GiST index (the planner would otherwise sort every row in the radius to honour
    the id tie-break); the page is then ordered exactly. Only a run of more than ``slack``
    listings at the very same distance could be cut short."""
    if not is_postgis():
        return list(qs.order_by("knn_metres", "id")[:count])
    slack = count * 3 + 50
    nearest = qs.order_by("knn_metres").values("pk")[:slack]
    return list(qs.filter(pk__in=Subquery(nearest)).order_by("knn_metres", "id")[:count])


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
