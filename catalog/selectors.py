"""Reads of listings. Other apps may call these (and ``ProductSummarySerializer``).

Backend differences live here and only here: on PostGIS, distance ordering uses the KNN
operator ``<->`` (GiST index order), full-text search uses the trigger-kept ``search_vector``
plus trigram word similarity; on SpatiaLite, plain distance ordering and ``icontains``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Field,
    FloatField,
    Func,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Least, Upper

from catalog import textsearch
from catalog.models import FeedType, Product, ProductLike
from soukloop import compiled
from soukloop.geo import is_postgis, radius_metres
from soukloop.shared import shared_value

SEARCH_CONFIG = "english"
SIMPLE_CONFIG = "soukloop_simple"  # simple + unaccent (migration 0005)
ZERO = timedelta(0)

# List rows: ``values()`` querysets of listings (annotated), whose items are dicts.
Rows = QuerySet[Any, dict[str, Any]]
_QS = TypeVar("_QS", bound=QuerySet[Any, Any])

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
    "attributes",
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
    "seller__stats__rating",
    "seller__stats__rating_count",
)


class PointX(Func):
    """Longitude of a point column as a float, computed by the database (no GEOS per row)."""

    function = "ST_X"
    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="ST_X(%(expressions)s::geometry)", **extra_context)


class PointY(PointX):
    function = "ST_Y"

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="ST_Y(%(expressions)s::geometry)", **extra_context)


def products_visible() -> QuerySet[Product]:
    """Every listing that has not been deleted (hidden), sold or not."""
    return Product.objects.filter(deleted_at__isnull=True)


@functools.cache
def _rows_base(*, anonymous: bool) -> Rows:
    # Built once per process (the ORM's expression and join setup is a good part of a list
    # request's cost) and never evaluated itself: ``product_rows`` hands out clones. Rows are
    # ``LIST_VALUES`` dicts (plus ``hot_score`` for the Discover cursor); annotations added
    # later (``distance``, ``is_liked`` for a signed-in caller...) join the dicts on their own.
    qs = products_visible().annotate(lng=PointX("location"), lat=PointY("location"))
    if anonymous:
        return with_is_liked(qs, user=None).values(*LIST_VALUES, "hot_score")
    return qs.values(*(name for name in LIST_VALUES if name != "is_liked"), "hot_score")


def product_rows(*, user: Any = None, include_sold: bool = False) -> Rows:
    """The base of the list endpoints: ``LIST_VALUES`` dicts rather than model instances, so no
    ``select_related`` or deferred columns to set up (``values`` joins the seller), with
    ``is_liked`` for the signed-in ``user``."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    qs = _rows_base(anonymous=not signed_in).all()
    if not include_sold:
        qs = qs.filter(is_available=True)
    return with_is_liked(qs, user=user) if signed_in else qs


def with_is_liked(qs: _QS, *, user: Any = None) -> _QS:
    """``is_liked`` for the signed-in ``user``; false for everyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.annotate(is_liked=Value(False))
    return qs.annotate(is_liked=Exists(ProductLike.objects.filter(product=OuterRef("pk"), user_id=user.pk)))


def products_for_seller(*, username: str, user: Any = None) -> Rows:
    """A person's available listings, newest first."""
    return product_rows(user=user).filter(seller__username__iexact=username).order_by("-created_at", "-id")


def _geography(point: Any) -> Any:
    """On PostGIS, a point value as a geography parameter; expressions (slots) pass through."""
    if hasattr(point, "resolve_expression") or not is_postgis():
        return point
    return Value(point, output_field=GeometryField(srid=4326, geography=True))


def _float(value: Any) -> Any:
    return value if hasattr(value, "resolve_expression") else Value(float(value), output_field=FloatField())


class InExpandedBox(Func):
    """``location && _st_expand(point, metres)``: the GiST bounding-box test (PostGIS only)."""

    output_field = BooleanField()

    def __init__(self, expression: Any, *, point: Any, metres: Any) -> None:
        super().__init__(expression, _geography(point), _float(metres))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:  # type: ignore[override]
        (column, column_params), (point, point_params), (metres, metres_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"({column} && _st_expand({point}::geography, {metres}))", [
            *column_params,
            *point_params,
            *metres_params,
        ]


def products_near(qs: Rows, *, point: Any, metres: Any) -> Rows:
    """Within ``metres`` of ``point``, with ``distance`` (metres, spheroid on PostGIS) annotated
    by the database.

    SpatiaLite: ``dwithin`` with metres as a bare number. PostGIS: the same test written as
    the GiST box overlap plus the KNN distance. ``ST_DWithin`` is estimated by the planner at a
    handful of rows whatever the radius, so it sorted all ~25,000 rows within 5 km at 100k
    listings (1.1 s measured) instead of walking the index in distance order (0.4 ms).
    """
    if is_postgis():
        qs = (
            qs.filter(InExpandedBox("location", point=point, metres=metres))
            .annotate(knn_metres=GeometryDistance("location", _geography(point)))
            .filter(knn_metres__lte=metres)
        )
    else:
        qs = qs.filter(location__dwithin=(point, metres))
    # A plain float: a ``Distance`` measure object per row cost more than the row itself.
    return qs.annotate(distance=ExpressionWrapper(Distance("location", _geography(point)), output_field=FloatField()))


def order_by_distance(qs: Rows, *, point: Any) -> Rows:
    if is_postgis():
        # KNN: the GiST index returns rows in distance order (0.3-0.8 ms at 1M rows).
        return qs.order_by(GeometryDistance("location", _geography(point)))
    return qs.order_by("distance", "id")


def text_query(q: str) -> SearchQuery | None:
    """The PostgreSQL query for ``q`` (catalog.textsearch): every word must match, each as its
    English stem or as one of its normalised forms (``soukloop_simple``: accents, Arabic
    letters and light stem, transliterations). ``None``: no word to look for."""
    return _text_query(text_terms(q))


def text_terms(q: str) -> list[tuple[str, str]]:
    """``(word, forms)`` for each word of ``q``: the word as typed (English stemming) and its
    normalised forms as a ``soukloop_simple`` tsquery (``'a' | 'b' <-> 'c'``)."""
    return [
        (word, " | ".join("'" + alt.replace(" ", "' <-> '") + "'" for alt in alternatives))
        for word, alternatives in zip(textsearch.words(q), textsearch.query_groups(q), strict=False)
    ]


def _text_query(terms: list[tuple[Any, Any]]) -> SearchQuery | None:
    """The tsquery of ``text_terms`` (values, or a compiled statement's ``Param``s)."""
    query = None
    for word, forms in terms:
        group = SearchQuery(word, search_type="plain", config=SEARCH_CONFIG) | SearchQuery(
            forms, search_type="raw", config=SIMPLE_CONFIG
        )
        query = group if query is None else query & group
    return query


def search_text(qs: Rows, *, q: Any, rank: bool = True) -> Rows:
    """Full-text search, annotated with ``relevance`` when ``rank`` (only ranked orderings
    need it: ranking every match costs more than finding it). ``q`` is stripped text.

    PostgreSQL: ``text_query`` against ``search_vector``, or trigram word similarity to the
    title (typos: "yezy" -> "Yeezy", trigram GIN index). SpatiaLite: every word's normalised
    forms (``search_terms``) matched with LIKE (docs/catalog.md)."""
    if isinstance(q, str):
        q = q.strip()
        if not q:
            return qs
    groups = textsearch.query_groups(q)
    if not groups:
        return qs.none()
    if is_postgis():
        query = text_query(q)
        if query is None:
            return qs.none()
        qs = qs.filter(Q(search_vector=query) | Q(title__trigram_word_similar=q))
        if not rank:
            return qs
        return qs.annotate(
            relevance=ExpressionWrapper(
                SearchRank(F("search_vector"), query) + TrigramWordSimilarity(q, "title"),
                output_field=FloatField(),
            )
        )
    match = Q()
    for alternatives in groups:
        either = Q()
        for alt in alternatives:
            either |= Q(search_terms__contains=alt)
        match &= either
    if not rank:
        return qs.filter(match)
    title_terms = groups[0]
    in_title = Q()
    for alt in title_terms:
        in_title |= Q(search_terms__regex=r"^[^|]*" + re.escape(alt))
    return qs.filter(match).annotate(
        relevance=Case(When(in_title, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    )


def filter_attributes(qs: _QS, *, values: dict[str, list[Any]] | None, ranges: Any = None, walked: bool = False) -> _QS:
    """``attr.<key>`` filters: any of a key's values (OR), every key (AND); ``ranges`` are
    ``(key, "gte"|"lte", number)``. PostgreSQL: one containment test per value
    (``attributes @> '{"size_eu": "42"}'``), which the GIN (jsonb_path_ops) index answers;
    SpatiaLite: JSON1 ``json_extract``, no index.

    ``walked``: the same tests on ``COALESCE(attributes, '{}')``, which no index answers, so
    the planner walks ``catalog_product_live_new_idx`` (the attributes are in it) newest first
    and stops at the page (``NewestWalk``) instead of reading every match from the GIN."""
    column = "attributes"
    if walked and is_postgis():
        qs = qs.alias(walked_attributes=Coalesce(F("attributes"), Value({}, output_field=JSONField())))
        column = "walked_attributes"
    for key, options in (values or {}).items():
        if is_postgis():
            either = Q()
            for option in options:
                # A compiled statement's slot stands for the whole ``{key: option}`` document.
                document = option if isinstance(option, compiled.Param) else {key: option}
                either |= Q(**{f"{column}__contains": document})
            qs = qs.filter(either)
        else:
            qs = qs.filter(**{f"{column}__{key}__in": options})
    for key, bound, number in ranges or ():
        qs = qs.filter(**{f"{column}__{key}__{bound}": number})
    return qs


ORDERINGS: dict[str, tuple[Any, ...]] = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "-created_at", "-id"),
    "-price": ("-price", "-created_at", "-id"),
    "popular": ("-like_count", "-view_count", "-created_at", "-id"),
    "relevance": ("-relevance", "-created_at", "-id"),
}


def products_matching(
    qs: Rows,
    *,
    q: Any = None,
    point: Any = None,
    radius_km: float | None = None,
    metres: Any = None,
    ordering: str = "newest",
    plain: Any = None,
) -> Rows | TopMatches:
    """The listings of ``qs`` that match the text ``q`` and lie around ``point``, in
    ``ordering`` (validated by the caller): the text, geo and ordering half of
    ``search_products``, which adds the plain filters. The radius is ``metres`` or
    ``radius_km`` (default ``MAX_SEARCH_RADIUS_KM``)."""
    if point is not None:
        if metres is None:
            metres = radius_metres(radius_km, default_km=settings.MAX_SEARCH_RADIUS_KM)
        qs = products_near(qs, point=point, metres=metres)
        if plain is not None:
            plain = products_near(plain, point=point, metres=metres)
    base = qs
    if q is not None:
        qs = search_text(qs, q=q, rank=ordering == "relevance")
    if ordering == "distance" and point is not None:
        return order_by_distance(qs, point=point)
    if ordering == "relevance" and q is None:
        ordering = "newest"
    if q is not None and ordering in ("newest", "relevance") and is_postgis() and text_query(q) is not None:
        return TopMatches(base, plain=plain if plain is not None else base, q=q, ordering=ordering)
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS["newest"]))


def search_products(
    qs: Rows, args: dict[str, Any], *, ordering: str, include_sold: bool
) -> Rows | TopMatches | NewestWalk:
    """The products search: ``args`` (``SEARCH_ARGS`` names; absent or ``None``: not filtered)."""
    if (
        (args.get("attributes") or args.get("attribute_ranges"))
        and args.get("q") is None
        and args.get("point") is None
        and ordering == "newest"
        and not include_sold
        and is_postgis()
    ):
        # The page's rows by primary key, without the filters again: re-testing the attributes
        # there had PostgreSQL answer the ids from the attributes' GIN (1.5 ms instead of 0.3).
        return NewestWalk(qs.filter(is_available=True), args=args)
    qs = _filtered(qs, args, include_sold=include_sold)
    plain = _filtered(products_visible(), args, include_sold=include_sold) if args.get("q") is not None else None
    return products_matching(
        qs,
        q=args.get("q"),
        point=args.get("point"),
        metres=args.get("metres"),
        ordering=ordering,
        plain=plain,
    )


def _filtered(qs: _QS, args: dict[str, Any], *, include_sold: bool, walked: bool = False) -> _QS:
    """``qs`` with the plain (non-text, non-geo) filters of a products search."""
    for name in ("category", "condition", "feed_type"):
        if args.get(name) is not None:
            qs = qs.filter(**{name: args[name]})
    if args.get("min_price") is not None:
        qs = qs.filter(price__gte=args["min_price"])
    if args.get("max_price") is not None:
        qs = qs.filter(price__lte=args["max_price"])
    if args.get("seller_id") is not None:
        qs = qs.filter(seller_id=args["seller_id"])
    if args.get("seller_username") is not None:
        qs = qs.filter(seller__username__iexact=args["seller_username"])
    if args.get("attributes") or args.get("attribute_ranges"):
        qs = filter_attributes(qs, values=args.get("attributes"), ranges=args.get("attribute_ranges"), walked=walked)
    if not include_sold:
        qs = qs.filter(is_available=True)
    return qs


# The values a products search filters on (``None``: not filtered).
SEARCH_ARGS = (
    "category",
    "condition",
    "feed_type",
    "min_price",
    "max_price",
    "seller_id",
    "seller_username",
    "q",
    "point",
    "metres",
    "attributes",
    "attribute_ranges",
)


def search_page_source(
    args: dict[str, Any], *, ordering: str, include_sold: bool, user: Any = None
) -> Rows | TopMatches | NewestWalk | CompiledSearch:
    """What the products list slices a page from: the search built with the ORM (on PostGIS, a
    search without text or attributes compiled once per shape: ``CompiledSearch``), planned by
    PostgreSQL for this request's values (no server-side prepared statements: a cached generic
    plan cannot see the radius or the page size)."""
    present = {name: value for name, value in args.items() if value is not None}
    if is_postgis() and present.keys() <= _SEARCH_PARAMS.keys():
        return CompiledSearch(present, ordering=ordering, include_sold=include_sold, user=user)
    qs = product_rows(user=user, include_sold=True)
    source = search_products(qs, present, ordering=ordering, include_sold=include_sold)
    if isinstance(source, _PageByIds) and "point" not in present:
        # The ids came through every filter; the rows are read by id alone (still visible, and
        # still available unless sold ones were asked for), as ``NewestWalk`` always did.
        source.rows_of = functools.partial(rows_by_ids, user=user, include_sold=include_sold)
        if isinstance(source, TopMatches) and "attribute_ranges" not in present and not include_sold:
            source.args = present  # its newest-first walk can run compiled
    return source


# The products search's values a compiled statement takes (``CompiledSearch``): every filter but
# the text and the attributes, whose SQL depends on their values.
_SEARCH_PARAMS: dict[str, Callable[[], Field[Any, Any]]] = {
    "category": CharField,
    "condition": CharField,
    "feed_type": CharField,
    "min_price": lambda: DecimalField(max_digits=12, decimal_places=2),
    "max_price": lambda: DecimalField(max_digits=12, decimal_places=2),
    "seller_id": UUIDField,
    "seller_username": CharField,
    "point": lambda: GeometryField(srid=4326, geography=True),
    "metres": FloatField,
}


# Compiled statements serve pages ending here at most (a first page of up to 100 listings, plus
# the one that tells whether there is a next): one statement per page end and shape.
COMPILED_PAGE_END = 101


class CompiledSearch:
    """A products search without ``q`` or attributes (PostGIS), sliced like a queryset: a first
    page runs the statement compiled once per shape (which filters, the ordering, the page's
    end) with this search's values (``soukloop.compiled``); a later one is built as before. The
    same rows as ``search_products``."""

    def __init__(self, values: dict[str, Any], *, ordering: str, include_sold: bool, user: Any = None) -> None:
        self.values, self.ordering, self.include_sold, self.user = values, ordering, include_sold, user

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        if not isinstance(item, slice) or item.stop is None or (item.step or 1) != 1:
            raise TypeError("CompiledSearch takes a bounded slice.")
        start, stop = item.start or 0, item.stop
        if start or stop > COMPILED_PAGE_END:  # a later page: built for its values, as it comes
            qs = product_rows(user=self.user, include_sold=True)
            return list(search_products(qs, self.values, ordering=self.ordering, include_sold=self.include_sold)[item])
        names = tuple(sorted(self.values))
        signed_in = _signed_in(self.user)

        def build() -> Rows:
            params = {name: compiled.Param(name, _SEARCH_PARAMS[name]()) for name in names}
            qs = product_rows(user=_SIGNED_IN if signed_in else None, include_sold=True)
            found = search_products(qs, params, ordering=self.ordering, include_sold=self.include_sold)
            if isinstance(found, _PageByIds):  # only a text or attribute search pages by ids
                raise TypeError("CompiledSearch runs searches without text or attributes.")
            return found[start:stop]

        key = ("search", names, self.ordering, self.include_sold, signed_in, start, stop)
        bound = dict(self.values, user_id=_caller_id(self.user))
        return compiled.statement(key, build).rows(bound)


# ``ordering=relevance`` ranks the newest this many matches (the bounded candidate set).
RELEVANCE_CANDIDATES = 300
# Typo matches (trigram) are sorted, not walked: a rare or misspelt word would walk every row.
_NEWEST_SORTED = (ExpressionWrapper(F("created_at") + Value(ZERO), output_field=DateTimeField()).desc(), "-id")


class _PageByIds:
    """A page source sliced like a queryset: ``_ids(stop)`` gives the ids up to ``stop`` in
    order, then the page's rows are read from ``base`` by primary key (one query)."""

    base: Rows
    # Reads the page's rows by id instead of ``base`` (``search_page_source``: the compiled
    # statement of ``rows_by_ids`` when ``base`` has no distance to compute).
    rows_of: Callable[[list[Any]], list[dict[str, Any]]] | None = None

    def _ids(self, stop: int) -> list[Any]:
        raise NotImplementedError

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        if not isinstance(item, slice) or item.stop is None or (item.step or 1) != 1:
            raise TypeError(f"{type(self).__name__} takes a bounded slice.")
        ids = self._ids(item.stop)[item.start or 0 :]
        if not ids:
            return []
        found = self.rows_of(ids) if self.rows_of is not None else self.base.filter(pk__in=ids).order_by()
        rows = {row["id"]: row for row in found}
        return [rows[pk] for pk in ids if pk in rows]


class IdIsAny(Func):
    """``id = ANY(%s)``: the ids as one array parameter, so one statement whatever their number."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:  # type: ignore[override]
        (column, column_params), (ids, ids_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"{column} = ANY({ids})", [*column_params, *ids_params]


def rows_by_ids(
    ids: list[Any],
    *,
    user: Any = None,
    include_sold: bool = False,
    hidden_sellers: Callable[..., QuerySet[Any]] | None = None,
) -> list[dict[str, Any]]:
    """The visible listings of ``ids`` as list rows (``LIST_VALUES``), in no particular order.
    On PostGIS one statement compiled once (``soukloop.compiled``) with the ids as an array.

    ``hidden_sellers(user_id=)``: for a signed-in ``user``, a one-column queryset of the sellers
    whose listings are left out, read in the same statement (a ranking kept for a while, such as
    the personalised Discover snapshot, so leaves out a seller blocked since it was made)."""
    if not ids:
        return []
    signed_in = _signed_in(user)
    hide = hidden_sellers if signed_in else None
    if not is_postgis():
        qs = product_rows(user=user, include_sold=include_sold).filter(pk__in=ids)
        if hide is not None:
            qs = qs.exclude(seller_id__in=hide(user_id=user.pk))
        return list(qs.order_by())

    def build() -> Rows:
        qs = product_rows(user=_SIGNED_IN if signed_in else None, include_sold=include_sold)
        if hide is not None:
            qs = qs.exclude(seller_id__in=hide(user_id=_SIGNED_IN.pk))
        return qs.filter(IdIsAny(F("pk"), compiled.Param("ids", ArrayField(UUIDField())))).order_by()

    # Listings by id and the person's id: no value a plan could weigh, so prepared on the server.
    statement = compiled.statement(("rows-by-ids", signed_in, include_sold, hide), build, prepared=True)
    return statement.rows({"ids": list(ids), "user_id": _caller_id(user)})


class TopMatches(_PageByIds):
    """A PostgreSQL text search's matches, newest first or by relevance, sliced like a
    queryset (as the page pagination does): a slice is that page's rows.

    The matches' ids come from the index-only walk of ``catalog_product_live_new_idx``
    (live listings newest first, ``search_vector`` included in the index): each index entry
    is tested against the query without visiting the table, and the walk stops once the
    slice is full, so a common word (``iphone``: 20,742 matches at 1M listings) costs a page's
    worth of matches, not all of them. A rare word is planned as the GIN bitmap instead (the
    planner has the words' frequencies). The page's rows are then read by primary key.

    ``relevance``: ``ts_rank`` over the newest ``RELEVANCE_CANDIDATES`` matches (computed in the
    same index-only walk), then freshness. Typo tolerance: when no listing has the words,
    titles similar to ``q`` (trigram word similarity) are the matches, newest first.
    Two or three queries a page, whatever its size.
    """

    # The search's values (``search_page_source``), when its newest-first ids can run as
    # compiled statements (no distance, no attribute range, sold ones left out).
    args: dict[str, Any] | None = None

    def __init__(self, base: Rows, *, plain: Any, q: str, ordering: str) -> None:
        # ``plain``: the same filters on the bare table (no joins), for the ids.
        self.base, self.plain, self.q, self.ordering = base, plain, q, ordering
        query = text_query(q)
        if query is None:
            raise ValueError("TopMatches needs a query with words in it.")
        self.query = query

    def _ids(self, stop: int) -> list[Any]:
        matches = self.plain.filter(search_vector=self.query)
        if self.ordering == "relevance":
            wanted = max(stop, RELEVANCE_CANDIDATES)
            newest = self._newest(
                matches.annotate(rank=SearchRank(F("search_vector"), self.query)), wanted, ("pk", "rank", "created_at")
            )
            ranked = list(newest)
            ranked.sort(key=lambda row: (row[1], row[2], row[0]), reverse=True)
            ids = [row[0] for row in ranked[:stop]]
        elif self.args is not None and stop <= COMPILED_PAGE_END:
            ids = self._compiled_newest(stop)
        else:
            ids = list(self._newest(matches, stop, ("pk",)))
        if not ids:  # no listing has the words: titles similar to them (typos), newest first
            ids = self._typo_ids(stop)
        return ids

    def _compiled_newest(self, stop: int) -> list[Any]:
        """``_newest`` for ids alone, its walk and the GIN's query compiled once per shape (the
        filters, the number of words, the page's end) and run with this search's words."""
        params, values = _search_slots(self.args or {})
        terms = text_terms(self.q)
        slots = [
            (compiled.Param(f"word:{i}", CharField()), compiled.Param(f"forms:{i}", CharField()))
            for i in range(len(terms))
        ]
        for i, (word, forms) in enumerate(terms):
            values[f"word:{i}"], values[f"forms:{i}"] = word, forms

        def matches() -> Any:
            return _filtered(products_visible(), params, include_sold=False).filter(search_vector=_text_query(slots))

        return _compiled_newest_ids(
            ("text", _search_shape(params), len(terms)),
            walk=matches,
            ask=matches,
            values=values,
            wanted=stop,
            per_row=TEXT_WALK_PER_ROW,
            most=TEXT_WALK_MAX,
        )

    @staticmethod
    def _newest(matches: Any, wanted: int, fields: tuple[str, ...]) -> list[Any]:
        """The newest ``wanted`` matches (``newest_in_window``: without the bound a word no
        listing has, every typo, walked every entry: 395 ms at 1M listings)."""
        return newest_in_window(
            walk=matches, ask=matches, wanted=wanted, per_row=TEXT_WALK_PER_ROW, most=TEXT_WALK_MAX, fields=fields
        )

    def _typo_ids(self, stop: int) -> list[Any]:
        """Titles similar to ``q``, newest first. A typo of a common word ("yezy": ~17,000
        similar titles at 1M) is found by testing each title of the window (the same word
        similarity as the trigram operator, so the same matches); a rare one, by the trigram
        index."""
        similar = self.plain.annotate(typo_similarity=TrigramWordSimilarity(self.q, "title")).filter(
            typo_similarity__gte=settings.SEARCH_TRIGRAM_WORD_THRESHOLD
        )
        return newest_in_window(
            walk=similar,
            ask=self.plain.filter(title__trigram_word_similar=self.q),
            wanted=stop,
            per_row=TYPO_WALK_PER_ROW,
            most=TYPO_WALK_MAX,
        )


# A text search's page walks this many of the newest live listings per row it needs (at most
# ``TEXT_WALK_MAX``) in the index-only scan before the GIN index answers instead: a word on
# 0.4% of listings or more fills its page from the walk.
TEXT_WALK_PER_ROW = 250
TEXT_WALK_MAX = 50_000
# A typo's page walks this many of the newest live listings per row it needs (at most
# ``TYPO_WALK_MAX``; each title is tested, ~15 µs) before the trigram index answers instead.
TYPO_WALK_PER_ROW = 100
TYPO_WALK_MAX = 5_000

# ``NewestWalk``: an attribute-filtered page walks this many of the newest live listings per
# row it needs (at most ``ATTRIBUTE_WALK_MAX``) before it asks the GIN index instead: a value on
# 0.4% of listings or more fills its first page from the walk (the bound is read once a minute
# per window: ``walk_cutoff``).
ATTRIBUTE_WALK_PER_ROW = 250
ATTRIBUTE_WALK_MAX = 50_000


def newest_in_window(
    *,
    walk: Any,
    ask: Any,
    wanted: int,
    per_row: int,
    most: int,
    fields: tuple[str, ...] = ("pk",),
    category: str | None = None,
) -> list[Any]:
    """The newest ``wanted`` rows of a search, as ``fields`` (``pk`` alone: flat).

    ``walk`` is tested row by row over the newest ``per_row`` live listings per row wanted (at
    most ``most``; windows go by powers of two of the rows wanted, so there are few bounds to
    keep): a common match fills the page there and the walk stops. When the window holds fewer,
    ``ask`` (the same rows, found through their own index: GIN, trigram) answers, its matches
    sorted rather than walked, so a rare or absent match never walks the whole table. The same
    rows either way."""
    cutoff = _window_cutoff(wanted, per_row=per_row, most=most, category=category)
    window = walk if cutoff is None else walk.filter(created_at__gte=cutoff)
    flat = fields == ("pk",)
    found = list(window.order_by("-created_at", "-id").values_list(*fields, flat=flat)[:wanted])
    if len(found) < wanted and cutoff is not None:  # the window was not every listing
        found = list(ask.order_by(*_NEWEST_SORTED).values_list(*fields, flat=flat)[:wanted])
    return found


def _window_cutoff(wanted: int, *, per_row: int, most: int, category: str | None) -> Any:
    """The bound of a walk for ``wanted`` rows: windows go by powers of two of the rows wanted,
    so there are few bounds to keep."""
    rows = 1 << max(0, wanted - 1).bit_length()
    return walk_cutoff(min(most, per_row * rows), category=category)


def walk_cutoff(window: int, *, category: str | None = None) -> Any:
    """The ``created_at`` of the ``window``-th newest live listing (of ``category``: a walk
    within one category reads ``catalog_live_cat_new_idx``), None when there are fewer live
    listings than that, shared for a minute (``soukloop.shared``): newer listings only widen
    the window, so an older bound is still a correct one."""

    def compute() -> tuple[Any]:
        live = Product.objects.filter(is_available=True, deleted_at__isnull=True)
        if category is not None:
            live = live.filter(category=category)
        cutoff = live.order_by("-created_at", "-id").values_list("created_at", flat=True)[window : window + 1].first()
        return (cutoff,)

    return shared_value(f"catalog:walk-cutoff:v3:{category or '-'}:{window}", seconds=60, compute=compute)[0]


class NewestWalk(_PageByIds):
    """An attribute-filtered search newest first, sliced like a queryset (PostgreSQL).

    A filter that matches 1 to 2% of a million listings (books in Arabic: ~17,000) was answered by
    the GIN bitmap, then every match was read and sorted for the newest 20: 47 to 140 ms. Here the
    page's ids come from the index-only walk of ``catalog_product_live_new_idx`` (live listings
    newest first, with ``category``, ``attributes``, ``price``, ``condition`` and ``feed_type``
    in the index), which tests each entry and stops once the page is full, over the newest
    ``ATTRIBUTE_WALK_PER_ROW`` listings per row the page needs. With a ``category`` the walk
    reads that category's entries alone (``catalog_live_cat_new_idx``, and a window counted in
    that category): sneakers in size 44 by Nike (1 in ~190 sneakers) filled their page from the
    walk in 1.4 ms at 1M listings, where the walk of every category found 3 of 21 in 5 ms and
    the GIN then took 2.4 ms more. When the window holds fewer matches than the page needs (a
    rare value), the GIN answers instead: the page is the same either way. Then the page's rows
    are read by primary key. Two or three queries a page, whatever its size.

    Without a range (``attr.<key>__gte``), the walk and the GIN's query are statements compiled
    once per shape (which filters, how many values of which keys, the page's end) and run with
    this search's values (``soukloop.compiled``).
    """

    def __init__(self, base: Rows, *, args: dict[str, Any]) -> None:
        self.base, self.args, self.category = base, args, args.get("category")

    def _ids(self, stop: int) -> list[Any]:
        # A range's number is written into its SQL; a deep page is rare (and one statement per
        # page end would let a caller paging at random churn everyone's statements).
        if self.args.get("attribute_ranges") or stop > COMPILED_PAGE_END:
            return newest_in_window(
                walk=_filtered(products_visible(), self.args, include_sold=False, walked=True),
                ask=_filtered(products_visible(), self.args, include_sold=False),
                wanted=stop,
                per_row=ATTRIBUTE_WALK_PER_ROW,
                most=ATTRIBUTE_WALK_MAX,
                category=self.category,
            )
        params, values = _search_slots(self.args)
        return _compiled_newest_ids(
            ("attributes", _search_shape(params)),
            walk=lambda: _filtered(products_visible(), params, include_sold=False, walked=True),
            ask=lambda: _filtered(products_visible(), params, include_sold=False),
            values=values,
            wanted=stop,
            per_row=ATTRIBUTE_WALK_PER_ROW,
            most=ATTRIBUTE_WALK_MAX,
            category=self.category,
        )


def _compiled_newest_ids(
    shape: tuple[Any, ...],
    *,
    walk: Callable[[], Any],
    ask: Callable[[], Any],
    values: dict[str, Any],
    wanted: int,
    per_row: int,
    most: int,
    category: str | None = None,
) -> list[Any]:
    """``newest_in_window``'s ids, its two queries as statements compiled once per ``shape``
    and page end: ``walk`` and ``ask`` build the searches with ``Param``s, run with ``values``."""
    cutoff = _window_cutoff(wanted, per_row=per_row, most=most, category=category)

    def window() -> Any:
        walked = walk()
        if cutoff is not None:
            walked = walked.filter(created_at__gte=compiled.Param("cutoff", DateTimeField()))
        return walked.order_by("-created_at", "-id").values("pk")[:wanted]

    statement = compiled.statement(("walk", shape, wanted, cutoff is not None), window)
    found = [row["pk"] for row in statement.rows({**values, "cutoff": cutoff})]
    if len(found) < wanted and cutoff is not None:  # the window was not every listing
        sorted_matches = compiled.statement(
            ("ask", shape, wanted), lambda: ask().order_by(*_NEWEST_SORTED).values("pk")[:wanted]
        )
        found = [row["pk"] for row in sorted_matches.rows(values)]
    return found


def _search_slots(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A search's plain filters and attribute values as ``Param``s (each attribute value one
    JSON document slot), and the values to run them with."""
    params: dict[str, Any] = {
        name: compiled.Param(name, _SEARCH_PARAMS[name]()) for name in args if name in _SEARCH_PARAMS
    }
    values = {name: args[name] for name in params}
    if args.get("attributes"):
        params["attributes"] = {}
        for key, options in args["attributes"].items():
            slots = []
            for i, option in enumerate(options):
                name = f"attr:{key}:{i}"
                slots.append(compiled.Param(name, JSONField()))
                values[name] = {key: option}
            params["attributes"][key] = slots
    return params, values


def _search_shape(params: dict[str, Any]) -> tuple[Any, ...]:
    """What a compiled search statement is keyed by besides the page: the filters present and
    how many values of which attribute keys."""
    return (
        tuple(sorted(name for name in params if name != "attributes")),
        tuple((key, len(options)) for key, options in sorted(params.get("attributes", {}).items())),
    )


def discover_feed(*, user: Any = None, category: str | None = None) -> Rows:
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
    values: dict[str, Any] = {
        "point": point,
        "metres": radius_metres(radius_km, default_km=settings.COMMUNITY_RADIUS_KM),
        "category": category or None,
        "hood": neighborhood.upper() or None,
        "building": building_name.upper() if neighborhood and building_name else None,
    }
    rows: list[dict[str, Any]] = []
    for tier in COMMUNITY_TIERS:
        if (tier == 0 and values["building"] is None) or (tier == 1 and values["hood"] is None):
            continue
        if after is not None and tier < after[0]:
            continue
        resume = after is not None and tier == after[0]
        if after is not None and resume:
            values["after_metres"], values["after_id"] = after[1], after[2]
        wanted = limit + 1 - len(rows)
        shape = _CommunityShape(
            tier=tier,
            category=values["category"] is not None,
            hood=values["hood"] is not None,
            building=values["building"] is not None,
            resume=resume,
            count=wanted,
        )
        args = {name: value for name, value in values.items() if value is not None}
        if is_postgis():
            rows.extend(_community_statement(shape, signed_in=_signed_in(user)).rows(_bound(args, user)))
        else:
            rows.extend(_community_tier(shape, args, user=user)[:wanted])
        if len(rows) > limit:
            break
    return rows


@dataclasses.dataclass(frozen=True)
class _CommunityShape:
    tier: int
    category: bool
    hood: bool
    building: bool
    resume: bool
    count: int


# The values a community tier's statement is run with (``soukloop.compiled``), by name.
_COMMUNITY_PARAMS: dict[str, Callable[[], Field[Any, Any]]] = {
    "point": lambda: GeometryField(srid=4326, geography=True),
    "metres": FloatField,
    "category": CharField,
    "hood": CharField,
    "building": CharField,
    "after_metres": FloatField,
    "after_id": UUIDField,
}


def _community_statement(shape: _CommunityShape, *, signed_in: bool) -> compiled.CompiledQuery:
    """A tier's page as a statement compiled once per shape (PostGIS): building the ORM query
    and compiling it took more than half of the feed's time (docs/catalog.md)."""

    def build() -> Rows:
        args = {name: compiled.Param(name, field()) for name, field in _COMMUNITY_PARAMS.items()}
        return _community_tier(shape, args, user=_SIGNED_IN if signed_in else None)[: shape.count]

    return compiled.statement(("community", shape, signed_in), build)


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _caller_id(user: Any) -> Any:
    """The value of a compiled statement's ``user_id`` slot (``is_liked``): the caller's id."""
    return user.pk if _signed_in(user) else None


def _bound(args: dict[str, Any], user: Any) -> dict[str, Any]:
    """``args`` for a compiled statement: every parameter given (those the shape leaves out are
    not in its SQL), and the caller's id for ``is_liked``."""
    return {name: args.get(name) for name in _COMMUNITY_PARAMS} | {"user_id": _caller_id(user)}


class _SignedInCaller:
    """The signed-in caller of a compiled statement: ``is_liked`` tests the id bound per run."""

    is_authenticated = True
    pk = compiled.Param("user_id", UUIDField())


_SIGNED_IN = _SignedInCaller()


def _community_tier(shape: _CommunityShape, args: dict[str, Any], *, user: Any = None) -> Rows:
    """One tier's rows, nearest first."""
    base = product_rows(user=user).filter(feed_type=FeedType.COMMUNITY)
    if shape.category:
        base = base.filter(category=args["category"])
    base = products_near(base, point=args["point"], metres=args["metres"])
    if not is_postgis():
        base = base.annotate(knn_metres=Cast(Distance("location", args["point"]), FloatField()))
    qs = _in_tier(base, shape, args).annotate(community_tier=Value(shape.tier, output_field=IntegerField()))
    if not is_postgis():
        return qs.order_by("knn_metres", "id")
    return _nearest_first(qs, _nth_metres(shape, args), point=args["point"], metres=args["metres"])


def _in_tier(qs: _QS, shape: _CommunityShape, args: dict[str, Any]) -> _QS:
    """The tier's own filters (building, neighbourhood or neither) and the cursor's resume point;
    ``qs`` carries ``knn_metres``."""
    if shape.hood:  # only the tier filters read these
        qs = qs.annotate(neighborhood_upper=Upper("neighborhood"), building_upper=Upper("building_name"))
        same_hood = Q(neighborhood_upper=args["hood"])
        same_building = same_hood & Q(building_upper=args["building"]) if shape.building else None
        condition = {
            0: same_building,
            1: same_hood & ~same_building if same_building is not None else same_hood,
            2: ~same_hood,
        }[shape.tier]
        qs = qs.filter(condition)
    if shape.resume:
        qs = qs.filter(
            Q(knn_metres__gt=args["after_metres"]) | Q(knn_metres=args["after_metres"], id__gt=args["after_id"])
        )
    return qs


def _nth_metres(shape: _CommunityShape, args: dict[str, Any]) -> Subquery:
    """The distance of the tier's ``count``-th nearest listing (PostGIS), from the listing table
    alone (no seller join, no selected columns): a KNN walk of an index that stops at ``count``.

    Tiers 0 and 1 (same building, same neighbourhood) walk the ``(neighbourhood, building,
    location)`` GiST index (migration 0009) within their neighbourhood, and are not given the
    radius: with the radius box next to the neighbourhood the planner estimated a few dozen
    rows and read all of them (2,709 for Dubai Marina at 100k, 6-22 ms) to sort by distance,
    instead of walking 21 (0.5 ms). The walk cannot run away: the neighbourhood bounds it.
    Beyond the radius its distance is capped by the caller (``Least``). Tier 2 (other
    neighbourhoods) keeps the radius box, which bounds its walk."""
    qs = products_visible().filter(is_available=True, feed_type=FeedType.COMMUNITY)
    if shape.category:
        qs = qs.filter(category=args["category"])
    point, metres = args["point"], args["metres"]
    if shape.hood and shape.tier < 2:
        qs = qs.annotate(knn_metres=GeometryDistance("location", _geography(point)))
    else:
        qs = (
            qs.filter(InExpandedBox("location", point=point, metres=metres))
            .annotate(knn_metres=GeometryDistance("location", _geography(point)))
            .filter(knn_metres__lte=metres)
        )
    nth = _in_tier(qs, shape, args).order_by("knn_metres").values("knn_metres")[shape.count - 1 : shape.count]
    return Subquery(nth, output_field=FloatField())


def _nearest_first(qs: Rows, nth: Subquery, *, point: Any, metres: Any) -> Rows:
    """Ordered by (distance, id), exactly, for the first ``count`` rows (PostGIS).

    The planner would sort every row in the radius to honour the id tie-break, so the query
    first finds the ``count``-th nearest distance (``nth``, an InitPlan) and then reads only the
    rows within that distance (the index box shrinks to it: ``count`` rows plus any tied at that
    distance) and orders those. Ties are exact however many listings share a point (a building
    geocoded to one spot)."""
    # No ``count``-th row: the radius; one beyond the radius: the radius too (fewer rows).
    bound = Least(Coalesce(nth, _float(metres)), _float(metres))
    # Rows in the box but farther than the bound sort after the ``count`` within it.
    return qs.filter(InExpandedBox("location", point=point, metres=bound)).order_by("knn_metres", "id")


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


def products_liked_by(*, user: Any) -> Rows:
    """The listings ``user`` liked, newest like first (``liked_at``), sold ones included and
    marked by ``is_available``/``sold_at``; hidden (deleted) ones left out. One query a page:
    the like row is joined, not looked up per listing."""
    return (
        product_rows(user=user, include_sold=True)
        .filter(likes__user_id=user.pk)
        .annotate(liked_at=F("likes__created_at"), like_id=F("likes__id"))
        .order_by("-liked_at", "-like_id")
    )


def product_likers_page(*, product_id: Any, after: Any = None, limit: int = 1000) -> list[tuple[Any, Any]]:
    """``(like id, user id)`` of the people who liked a listing, a keyset page at a time (the
    price-drop fan-out walks them in batches)."""
    qs = ProductLike.objects.filter(product_id=product_id).order_by("id")
    if after is not None:
        qs = qs.filter(id__gt=after)
    return list(qs.values_list("id", "user_id")[:limit])


def product_price_drop_facts(*, product_id: Any) -> dict[str, Any] | None:
    """What a price-drop notice needs, or ``None`` when the listing is gone, hidden or sold
    (nobody hears of a drop on something they cannot buy)."""
    row = (
        Product.objects.filter(pk=product_id, deleted_at__isnull=True, is_available=True)
        .values("id", "seller_id", "title", "price", "currency")
        .first()
    )
    return dict(row) if row is not None else None


def listings_created_between(*, after: tuple[Any, Any] | None, until: Any, limit: int = 5000) -> list[dict[str, Any]]:
    """Live listings created after the ``(created_at, id)`` keyset ``after`` and up to
    ``until``, oldest first, with what saved searches match on (discovery's percolator)."""
    qs = products_visible().filter(is_available=True, created_at__lte=until)
    if after is not None:
        qs = qs.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
    return [
        dict(row)
        for row in qs.order_by("created_at", "id").values(
            "id",
            "title",
            "description",
            "tags",
            "price",
            "category",
            "attributes",
            "condition",
            "feed_type",
            "location",
            "seller_id",
            "seller__username",
            "created_at",
        )[:limit]
    ]
