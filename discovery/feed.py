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
index), plus the best-ranked listings of their top categories (both shared pools) and each
affinity seller's best few; their own listings and blocked (either way) sellers' are left out
(of the pools' rows, and of the sellers asked for; and, when a page is read, sellers blocked
since the snapshot was made). The person's signals are one statement (``_signals``), which on
PostGIS goes on to the affinity sellers' best (``seller_tops``). The candidates are
re-ranked here and made diverse (never more than ``MAX_RUN`` in a row from one seller), and
the order is kept as a snapshot in the cache for ``DISCOVER_PERSONAL_TTL_SECONDS`` (written once
the first page has been sent): the cursor is (snapshot, offset), so scrolling never duplicates
or skips an item while new listings arrive. The feed ends with the snapshot
(``?personalised=false`` scrolls on).
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import math
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, F, IntegerField, UUIDField, Value, Window
from django.db.models.functions import Cast, RowNumber
from django.utils.translation import gettext as _

from accounts.models import Follow
from accounts.selectors import block_partner_ids
from catalog.models import FeedType, Product, ProductLike
from catalog.personalisation import PersonalPage
from catalog.selectors import PointX, PointY, rows_by_ids
from discovery.models import SavedSearch
from payments.models import Transaction, TransactionStatus
from soukloop import compiled
from soukloop.afterresponse import after_response
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import ValidationError
from soukloop.geo import is_postgis
from soukloop.shared import shared_value

T = TypeVar("T")

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

    def __init__(self, *, user: Any, exclude_like_ids: Iterable[Any] = (), category: str | None = None) -> None:
        categories: Counter[str] = Counter()
        seller_likes: Counter[str] = Counter()
        # Sellers by the text of their id, as the candidate rows carry them (cheap to keep and share).
        sellers: dict[str, float] = {}
        hidden = {str(user.pk)}
        signals, tops = _signals(user.pk, exclude_like_ids=exclude_like_ids, category=category)
        # The affinity sellers' best (of ``category``, or all), when read with the signals (PostGIS).
        self.category, self.read_seller_tops = category, tops
        for kind, of_category, seller in signals:
            if kind == "like":
                categories[of_category] += 1
                seller_likes[seller] += 1
            elif kind == "purchase":
                categories[of_category] += 3
                sellers[seller] = 1.0
            elif kind == "follow":
                sellers[seller] = 1.0
            elif kind == "search":
                categories[of_category] += 2
            else:  # "block", either way
                hidden.add(seller)
        for seller, count in seller_likes.items():
            sellers.setdefault(seller, min(1.0, count / 3))
        total = sum(categories.values())
        self.category_share = {category: count / total for category, count in categories.items()} if total else {}
        self.sellers = sellers
        self.hidden_sellers = hidden
        location = getattr(user, "location", None)
        self.location = (location.x, location.y) if location is not None else None  # (lng, lat)

    def affinity_sellers(self) -> list[str]:
        """The sellers whose best listings are candidates: the ``AFFINITY_SELLERS`` with the
        highest affinity (ties by id), none of them hidden."""
        shown = (seller for seller in self.sellers if seller not in self.hidden_sellers)
        return sorted(shown, key=self._seller_order)[:AFFINITY_SELLERS]

    def _seller_order(self, seller: str) -> tuple[float, str]:
        return -self.sellers[seller], seller

    def top_categories(self) -> list[str]:
        ranked = sorted(self.category_share.items(), key=lambda item: -item[1])
        return [category for category, _share in ranked[:TOP_CATEGORIES]]

    def ranked(self, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Candidate rows (``_FIELDS`` order) best first: by the formula's score, then
        ``hot_score``, then id. One loop with the lookups bound once (a person has ~400
        candidates on every first page); ids are unique, so the sort never compares rows."""
        share, affinity, near = self.category_share.get, self.sellers.get, _nearness(self.location)
        scored = []
        for row in rows:
            pk, seller_id, category, hot_score, lng, lat = row
            score = (
                hot_score
                + CATEGORY_WEIGHT * share(category, 0.0)
                + SELLER_WEIGHT * affinity(seller_id, 0.0)
                + AREA_WEIGHT * near(lng, lat)
            )
            scored.append((-score, -hot_score, pk, row))
        scored.sort()
        return [row for _score, _hot, _pk, row in scored]


_EARTH_METRES = 6_371_008.8


def _nearness(location: tuple[float, float] | None) -> Callable[[float | None, float | None], float]:
    """``nearness(lng, lat)``: 1 at ``location`` (lng, lat), falling to 0 at ``AREA_KM``; 0
    without a location. The distance is equirectangular at the location's latitude: within the
    10 km that count it is off by well under 1% from the spheroid, and it is computed here
    rather than by the database for every candidate."""
    if location is None:
        return lambda lng, lat: 0.0
    lng0, lat0 = location
    # degrees of longitude and latitude, in units of AREA_KM
    per_degree = math.radians(1.0) * _EARTH_METRES / (AREA_KM * 1000.0)
    x_scale, y_scale = per_degree * math.cos(math.radians(lat0)), per_degree
    hypot = math.hypot

    def nearness(lng: float | None, lat: float | None) -> float:
        if lng is None or lat is None:
            return 0.0
        distance = hypot((lng - lng0) * x_scale, (lat - lat0) * y_scale)
        return 1.0 - distance if distance < 1.0 else 0.0

    return nearness


def _signals(
    user_id: Any, *, exclude_like_ids: Iterable[Any], category: str | None = None
) -> tuple[list[tuple[str, Any, Any]], list[tuple[Any, ...]] | None]:
    """``(kind, category, seller id as text)`` rows of what ``user_id`` did: their latest
    ``SIGNAL_LIKES`` likes, follows, purchases, saved searches naming a category, and the
    people in a block with them. Five small reads, each compiled by the ORM, sent as one
    ``UNION ALL`` statement: one round trip instead of five. On PostGIS the same statement goes on
    to the affinity sellers' best listings (``_TOPS_SQL``: chosen from those signals in SQL), so
    the second list is those candidate rows (``_FIELDS`` order); elsewhere it is ``None``
    (``seller_tops`` reads them).

    The statement is the same for everyone but the person's id, so each process builds it
    once with the id as a slot (``soukloop.compiled.Param``) and binds the person's id (building
    the five querysets was ~2 ms a request). Every value picks the person's own rows by their id,
    so its plan cannot depend on them: it is prepared on the server (``soukloop.compiled.cursor``),
    which saves the 1.6-1.9 ms PostgreSQL spent planning it on every first page."""
    excluded = list(exclude_like_ids)
    if excluded:  # the offline evaluation's held-out likes: built for this call
        sql, template = _statement(excluded)
    else:
        key = connection.vendor
        if key not in _STATEMENTS:
            _STATEMENTS[key] = _statement([])
        sql, template = _STATEMENTS[key]
    values = {
        "user_id": user_id,
        "category": category,
        "sellers_max": AFFINITY_SELLERS,
        "per_seller_min": SELLER_TOP_MIN,
        "candidates": AFFINITY_CANDIDATES,
    }
    # The statement is the person's own rows by their id (and the category): prepared on the server,
    # but not a one-off built for held-out likes.
    with compiled.cursor(prepared=not excluded) as cursor:
        cursor.execute(sql, compiled.bind(template, values))
        rows = cursor.fetchall()
    if not is_postgis():
        # SpatiaLite hands uuids back as 32 hex digits, PostgreSQL as UUIDs: one text form for both.
        return [(kind, category, str(uuid.UUID(seller)) if seller else None) for kind, category, seller in rows], None
    # ids come as text (``::text``), as the candidate rows carry them
    signals = [(kind, category, seller) for kind, category, seller, *_top in rows if kind != "top"]
    return signals, [(pk, seller, category, *rest) for kind, category, seller, pk, *rest in rows if kind == "top"]


# The statement per database vendor, with the person's id (and the category) slots.
_STATEMENTS: dict[str, tuple[str, list[Any]]] = {}

# The affinity sellers' best, after the signals (PostGIS): the sellers with the highest affinity
# (a purchase or follow 1, likes a third each up to 1; ties by id), none hidden, then one probe
# per seller of ``catalog_seller_discover_idx`` for their best ``per_seller`` (at least
# SELLER_TOP_MIN, or AFFINITY_CANDIDATES / the number of sellers when that is more), then the best
# AFFINITY_CANDIDATES of those. ``Affinities.affinity_sellers`` is the same choice in Python.
_TOPS_SQL = """
, hidden AS (
    SELECT seller FROM signals WHERE kind = 'block' AND seller IS NOT NULL
    UNION ALL SELECT %s::uuid
), affinity AS (
    SELECT seller, CASE WHEN bool_or(kind <> 'like') THEN 1.0 ELSE least(1.0, count(*) / 3.0) END AS affinity
    FROM signals
    WHERE kind IN ('like', 'purchase', 'follow') AND seller IS NOT NULL AND seller NOT IN (SELECT seller FROM hidden)
    GROUP BY seller
    ORDER BY affinity DESC, seller
    LIMIT %s
), sellers AS (
    SELECT seller, greatest(%s, ceil(%s::float8 / count(*) OVER ()))::int AS per_seller FROM affinity
), tops AS (
    SELECT p.* FROM sellers AS s CROSS JOIN LATERAL (
        SELECT id, seller_id, category, hot_score, location
        FROM catalog_product
        WHERE seller_id = s.seller AND feed_type = 'discover' AND is_available AND deleted_at IS NULL
          AND (%s::text IS NULL OR category = %s::text)
        ORDER BY hot_score DESC, id DESC
        LIMIT s.per_seller
    ) AS p
    ORDER BY p.hot_score DESC, p.id DESC
    LIMIT %s
)
SELECT kind, category, seller::text, NULL::text, NULL::float8, NULL::float8, NULL::float8 FROM signals
UNION ALL
SELECT 'top', category, seller_id::text, id::text, hot_score, ST_X(location::geometry), ST_Y(location::geometry)
FROM tops
"""


def _statement(excluded: list[Any]) -> tuple[str, list[Any]]:
    """The signals statement, and on PostGIS the sellers' best after it (``_TOPS_SQL``)."""
    sql, params = _signals_statement(excluded)
    if not is_postgis():
        return sql, params
    number: IntegerField[int, int] = IntegerField()
    category: CharField[str, str] = CharField()
    tail = [
        compiled.slot("user_id", UUIDField()),
        compiled.slot("sellers_max", number),
        compiled.slot("per_seller_min", number),
        compiled.slot("candidates", number),
        compiled.slot("category", category),
        compiled.slot("category", category),
        compiled.slot("candidates", number),
    ]
    return f"WITH signals(kind, category, seller) AS ({sql}){_TOPS_SQL}", [*params, *tail]


def _signals_statement(excluded: list[Any]) -> tuple[str, list[Any]]:
    user_id = compiled.Param("user_id", UUIDField())
    no_text, no_seller = Cast(Value(None), output_field=CharField()), Cast(Value(None), output_field=UUIDField())
    parts = {
        "like": ProductLike.objects.filter(user_id=user_id)
        .exclude(pk__in=excluded)
        .order_by("-created_at")
        .values_list("product__category", "product__seller_id")[:SIGNAL_LIKES],
        "follow": Follow.objects.filter(follower_id=user_id)
        .annotate(no_text=no_text)
        .order_by()
        .values_list("no_text", "following_id")[:500],
        "purchase": Transaction.objects.filter(buyer_id=user_id, status__in=_BOUGHT)
        .order_by()
        .values_list("product__category", "seller_id")[:200],
        "search": SavedSearch.objects.filter(user_id=user_id)
        .exclude(category="")
        .annotate(no_seller=no_seller)
        .order_by()
        .values_list("category", "no_seller"),
        "block": block_partner_ids(user_id=user_id).annotate(no_text=no_text).values_list("no_text", "partner"),
    }
    statements, params = [], []
    for kind, qs in parts.items():
        sql, part_params = qs.query.sql_with_params()
        # the ORM's own SQL for each part, with its parameters kept apart
        statements.append(f"SELECT %s, * FROM ({sql}) AS {kind}_rows")  # noqa: S608
        params += [kind, *part_params]
    return " UNION ALL ".join(statements), params


_FIELDS = ("id", "seller_id", "category", "hot_score", "lng", "lat")
# Pools are read this many rows beyond what is taken, so that leaving out the person's own and
# blocked sellers' listings still leaves a full set.
POOL_MARGIN = 100


def _ranked() -> Any:
    """Live Discover listings best-ranked first, as the rows the ranking reads."""
    return (
        Product.objects.filter(feed_type=FeedType.DISCOVER, is_available=True, deleted_at__isnull=True)
        .annotate(lng=PointX("location"), lat=PointY("location"))
        .order_by("-hot_score", "-id")
    )


def _pool(category: str | None, size: int) -> list[tuple[Any, ...]]:
    """The ``size`` best-ranked live Discover listings (of ``category``, or all): the same for
    everyone, so shared by every person's ranking for ``DISCOVER_POOL_SECONDS``
    (``soukloop.shared``; 0: read each time). A listing sold or hidden since is left
    out when its page is read (``personal_discover_page``)."""

    def compute() -> list[tuple[Any, ...]]:
        qs = _ranked()
        if category:
            qs = qs.filter(category=category)
        return _rows(qs.values_list(*_FIELDS)[:size])

    key = f"discover:pool:v2:{category or '-'}:{size}"
    return shared_value(key, seconds=settings.DISCOVER_POOL_SECONDS, compute=compute)


def _rows(values: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Candidate rows with their ids as text (``_FIELDS`` order)."""
    return [(str(pk), str(seller), *rest) for pk, seller, *rest in values]


# Each affinity seller's best this many, or more when there are few sellers (their best
# AFFINITY_CANDIDATES in all): one seller with a large shop cannot fill the group alone.
SELLER_TOP_MIN = 3
AFFINITY_SELLERS = 100


def seller_tops(affinities: Affinities) -> list[tuple[Any, ...]]:
    """The best-ranked live Discover listings of the affinity sellers (of the affinities'
    category, or all): each seller's best ``per_seller``, then the best ``AFFINITY_CANDIDATES``
    of those. On PostGIS they came with the signals (one probe per seller of
    ``catalog_seller_discover_idx``: a walk of the Discover index filtered by seller read ~2,500
    rows to find 100 at 100k listings); elsewhere a window over the sellers' listings (the
    embedded database is small)."""
    if affinities.read_seller_tops is not None:
        return affinities.read_seller_tops
    sellers = affinities.affinity_sellers()
    if not sellers:
        return []
    per_seller = max(SELLER_TOP_MIN, math.ceil(AFFINITY_CANDIDATES / len(sellers)))
    qs = _ranked().filter(seller_id__in=sellers)
    if affinities.category:
        qs = qs.filter(category=affinities.category)
    qs = qs.annotate(
        seller_rank=Window(RowNumber(), partition_by=[F("seller_id")], order_by=[F("hot_score").desc(), F("id").desc()])
    ).filter(seller_rank__lte=per_seller)
    return _rows(qs.values_list(*_FIELDS)[:AFFINITY_CANDIDATES])


def _candidates(affinities: Affinities) -> list[tuple[Any, ...]]:
    """Global top plus affinity candidates (``_FIELDS`` rows), of the affinities' category (or
    all), each once, without the person's own or blocked sellers' listings. The global and
    per-category tops are shared pools (``_pool``); the affinity sellers' best are this person's
    own (``seller_tops``, read for the same category)."""
    hidden, category = affinities.hidden_sellers, affinities.category
    wanted = settings.DISCOVER_PERSONAL_CANDIDATES
    groups: list[Iterable[tuple[Any, ...]]] = [
        [row for row in _pool(category, wanted + POOL_MARGIN) if row[1] not in hidden][:wanted]
    ]
    top = [c for c in affinities.top_categories() if not category or c == category]
    if top:
        # Each pool is best-ranked first (-hot_score, -id; hex orders as the uuid): merged, the
        # best AFFINITY_CANDIDATES of them all.
        pools = [(row for row in _pool(c, AFFINITY_CANDIDATES + POOL_MARGIN) if row[1] not in hidden) for c in top]
        groups.append(islice(heapq.merge(*pools, key=itemgetter(3, 0), reverse=True), AFFINITY_CANDIDATES))
    groups.append(seller_tops(affinities))
    seen: dict[Any, tuple[Any, ...]] = {}
    for group in groups:
        for row in group:
            seen.setdefault(row[0], row)
    return list(seen.values())


def diversify(
    rows: Iterable[T], *, max_run: int = MAX_RUN, seller: Callable[[Any], Any] = itemgetter("seller_id")
) -> list[T]:
    """Keep the order but never more than ``max_run`` in a row from one seller: an item that
    would make a longer run waits for the next place another seller's item takes. Items that
    can never be placed (only one seller left) are dropped from the snapshot.

    One pass: the items passed over wait in order. They are all one seller's (an item waits only
    while its seller has the run, and once another seller's item is placed the waiting come
    next), and they come before every item not yet looked at, so each place takes the first
    waiting item when it may, else the first allowed item further on."""
    result: list[T] = []
    waiting: deque[T] = deque()
    upcoming = iter(rows)
    run_seller, run = None, 0  # the seller of the last item placed, and how many in a row
    while True:
        if waiting and (run < max_run or seller(waiting[0]) != run_seller):
            item = waiting.popleft()
        else:
            for item in upcoming:
                if run < max_run or seller(item) != run_seller:
                    break
                waiting.append(item)
            else:
                return result
        if seller(item) == run_seller:
            run += 1
        else:
            run_seller, run = seller(item), 1
        result.append(item)


def personal_ranking(*, user: Any, category: str | None = None, exclude_like_ids: Iterable[Any] = ()) -> list[str]:
    """Listing ids, best first, for ``user`` (the snapshot)."""
    affinities = Affinities(user=user, exclude_like_ids=exclude_like_ids, category=category)
    rows = affinities.ranked(_candidates(affinities))
    return [row[0] for row in diversify(rows, seller=itemgetter(1))]


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
    """Keep the ranking for the next pages, once this page has been sent (``after_response``):
    the person reads it before they scroll, and a next page that comes first (or finds the cache
    down) ranks again at its offset."""

    def keep() -> None:
        try:
            cache.set(key, ids, timeout=settings.DISCOVER_PERSONAL_TTL_SECONDS)
        except CACHE_UNAVAILABLE:
            return  # none kept: the next page ranks again at its offset

    after_response(keep)


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
    # Read with the blocks as they are now: a seller blocked (either way) since the snapshot was
    # made is left out of its later pages, as are listings sold or hidden since.
    rows = {str(row["id"]): row for row in rows_by_ids(page_ids, user=user, hidden_sellers=block_partner_ids)}
    ordered = [rows[pk] for pk in page_ids if pk in rows]
    next_cursor = _encode(token, offset + limit) if offset + limit < len(ids) else None
    return PersonalPage(rows=ordered, next_cursor=next_cursor)


def recall_at(ranked: list[str], held_out: set[str], k: int = 20) -> float:
    return len(set(ranked[:k]) & held_out) / len(held_out) if held_out else math.nan
