"""Reads of saved searches: a person's list, and the percolator's index queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from discovery import text
from discovery.models import SavedSearch

# What the percolator reads of each candidate (little: there are many), and of a matched search.
CANDIDATE_VALUES = ("id", "user_id", "q_words", "filters")
STATE_VALUES = (
    "id",
    "user_id",
    "name",
    "params",
    "pending_count",
    "pending_titles",
    "pending_since",
    "last_alerted_at",
)


def saved_searches_of(*, user: Any) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def saved_search_candidates(*, listing: Mapping[str, Any], words: set[str]) -> list[tuple[Any, ...]]:
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
        return list(qs.filter(area__isnull=True).values_list(*CANDIDATE_VALUES))
    # Two index walks: the searches with an area through the GiST box, those without through
    # (category, q_key). One OR-ed query made the planner read every area-less row.
    near = qs.filter(area__intersects=point, center__dwithin=(point, F("radius_m")))
    anywhere = qs.filter(area__isnull=True)
    return list(near.values_list(*CANDIDATE_VALUES)) + list(anywhere.values_list(*CANDIDATE_VALUES))


def saved_search_states(*, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """The matched searches' owners and alert state, by id (in chunks: a busy run matches many)."""
    states: dict[Any, dict[str, Any]] = {}
    for start in range(0, len(ids), 5000):
        for row in SavedSearch.objects.filter(pk__in=ids[start : start + 5000]).values(*STATE_VALUES):
            states[row["id"]] = row
    return states


def saved_searches_waiting(*, due_before: datetime, limit: int = 5000) -> list[dict[str, Any]]:
    """Searches holding matches whose alert window is over (partial index on pending ones)."""
    qs = SavedSearch.objects.filter(pending_count__gt=0, last_alerted_at__lte=due_before).order_by("pending_since")
    return list(qs.values(*STATE_VALUES)[:limit])


# PostGIS: the whole run's listings matched in one statement. Each listing row (from a JSON
# recordset) finds its candidates through an index, in one of three ways:
# - searches of no word or one: ``(q_key, category, q_pair = '')`` for each of its words (or
#   none) and its category (or none);
# - searches of two words or more: ``(q_pair, category)`` for each pair of its words, so a
#   search whose longest word matched but whose second did not is never read;
# - the same searches for a listing of more than PAIR_WORDS_MAX words (too many pairs to look
#   up): by their longest word, as the first way, the second word checked with the rest.
# The area box and exact circle, price, the other words (jsonb containment), the named filters
# and the attributes are checked in the same join, so only true matches come back.
PAIR_WORDS_MAX = 60  # 1,770 pairs

_MATCH = """
 -- saved before the listing was created (a difference, so no index is planned for it: the
 -- planner took the (user, created_at) index's whole walk for a filter that keeps nearly all)
 AND s.created_at - l.created_at < interval '0'
 AND s.user_id <> l.seller_id
 AND NOT (s.user_id = ANY (l.blocked))
 AND (s.min_price IS NULL OR s.min_price <= l.price)
 AND (s.max_price IS NULL OR s.max_price >= l.price)
 AND (
      s.area IS NULL
      OR (l.lng IS NOT NULL
          AND s.area && ST_SetSRID(ST_MakePoint(l.lng, l.lat), 4326)
          AND ST_DWithin(s.center, ST_SetSRID(ST_MakePoint(l.lng, l.lat), 4326)::geography, s.radius_m))
 )
 AND s.q_words <@ l.words
 AND (
      s.filters IS NULL
      OR ((s.filters ->> 'condition' IS NULL OR s.filters ->> 'condition' = l.condition)
          AND (s.filters ->> 'feed_type' IS NULL OR s.filters ->> 'feed_type' = l.feed_type)
          AND (s.filters ->> 'seller' IS NULL
               OR s.filters ->> 'seller' = l.seller_id::text
               OR lower(s.filters ->> 'seller') = lower(l.seller_username)))
          -- attributes: each key holds one of its values, each bound holds (as the list's filter)
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_each(s.filters -> 'attr') AS a(key, vals)
               WHERE NOT COALESCE(a.vals @> jsonb_build_array(l.attributes -> a.key), false))
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_array_elements(s.filters -> 'attr_ranges') AS r(bound)
               WHERE NOT COALESCE(
                   jsonb_typeof(l.attributes -> (r.bound ->> 0)) = 'number'
                   AND CASE r.bound ->> 1
                       WHEN 'gte' THEN l.attributes -> (r.bound ->> 0) >= r.bound -> 2
                       ELSE l.attributes -> (r.bound ->> 0) <= r.bound -> 2
                   END, false))
 )
"""

_LISTINGS = """
WITH l AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS l(
        idx int, category text, keys text[], pairs text[], words jsonb, price numeric, lng float8,
        lat float8, created_at timestamptz, seller_id uuid, seller_username text, condition text,
        feed_type text, attributes jsonb, blocked uuid[]
    )
)"""
_BY_WORD = """
SELECT s.id, l.idx FROM l JOIN discovery_savedsearch s
  ON s.alerts AND s.q_key = ANY (l.keys) AND s.category = ANY (ARRAY[l.category, '']) AND s.q_pair = ''"""
_BY_PAIR = """
SELECT s.id, l.idx FROM l JOIN discovery_savedsearch s
  ON s.alerts AND s.q_pair = ANY (l.pairs) AND s.category = ANY (ARRAY[l.category, '']) AND s.q_pair <> ''"""
_BY_WORD_LONG_LISTING = """
SELECT s.id, l.idx FROM l JOIN discovery_savedsearch s
  ON l.pairs IS NULL
 AND s.alerts AND s.q_key = ANY (l.keys) AND s.category = ANY (ARRAY[l.category, '']) AND s.q_pair <> ''"""
_PERCOLATE_SQL = "\nUNION ALL".join((_LISTINGS + _BY_WORD + _MATCH, _BY_PAIR + _MATCH, _BY_WORD_LONG_LISTING + _MATCH))


def saved_search_matches_postgis(
    *, listings: list[dict[str, Any]], words: list[set[str]], blocked: Mapping[Any, set[Any]]
) -> list[tuple[Any, int]]:
    """``(search id, listing index)`` of every match of a run's listings (PostGIS only);
    ``blocked``: by seller, the people in a block with them, whom their listings never alert."""
    import json

    rows = []
    for index, (listing, listing_words) in enumerate(zip(listings, words, strict=True)):
        point = listing["location"]
        rows.append(
            {
                "idx": index,
                "category": listing["category"],
                "keys": ["", *listing_words],
                "pairs": text.pair_keys(listing_words) if len(listing_words) <= PAIR_WORDS_MAX else None,
                "words": sorted(listing_words),
                "price": str(listing["price"]),
                "lng": point.x if point is not None else None,
                "lat": point.y if point is not None else None,
                "created_at": listing["created_at"].isoformat(),
                "seller_id": str(listing["seller_id"]),
                "seller_username": listing["seller__username"] or "",
                "condition": listing["condition"],
                "feed_type": listing["feed_type"],
                "attributes": listing["attributes"],
                "blocked": [str(user_id) for user_id in blocked.get(listing["seller_id"], ())],
            }
        )
    with connection.cursor() as cursor:
        cursor.execute(_PERCOLATE_SQL, [json.dumps(rows)])
        return [(search_id, index) for search_id, index in cursor.fetchall()]
