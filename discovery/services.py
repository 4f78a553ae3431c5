"""Saved searches (create, delete) and the percolator that tells their owners about new
listings.

Percolation: every minute (Celery beat, ``percolate_saved_searches``) the listings created
since the last run's mark are taken as one batch and matched only against the searches that
could want them, through an index: the search's category (or none) and one key word of its
text (its longest; or none) in a B-tree, its area as a GiST-indexed box. On PostGIS the whole
batch is one join (``selectors.saved_search_matches_postgis``) that also checks the exact
circle, the price, the other words and the named filters; on SpatiaLite an index query per
listing gives the candidates and Python checks the rest. A matched search alerts its owner at
once if it has not for ``SAVED_SEARCH_ALERT_MINUTES``; otherwise its matches wait on the row
(count and first titles) and a later run sends them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection, transaction
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from rest_framework.exceptions import ErrorDetail
from rest_framework.exceptions import ValidationError as DRFValidationError

from accounts.models import User
from accounts.selectors import block_partners
from catalog.params import PARAMS, parse_search_params
from catalog.selectors import listings_created_between
from discovery import selectors, text
from discovery.models import PercolationMark, SavedSearch
from soukloop import events
from soukloop.errors import Conflict, NotFound
from soukloop.geo import is_postgis, make_point, radius_metres

logger = logging.getLogger(__name__)

ALERT_TITLES = 3  # the first few titles an alert names
ALERTS_PER_EVENT = 200  # alerts per event (one notifications task each)
MATCH_CHUNK = 200  # listings per matching statement (PostGIS)
# Listings younger than this wait for the next run, so one whose transaction commits a
# moment after a run has read past its created_at is not skipped.
PERCOLATION_LAG = timedelta(seconds=10)
MARK_KEY = "saved_searches"
_PARAMS = {param.name: param for param in PARAMS}


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _param_strings(params: Mapping[str, Any]) -> MultiValueDict[str, str]:
    """The params object as the list's query parameters (strings; a repeatable ``attr.<key>``
    may be a list, its values OR-ed as in the list's repeated parameter); unknown names are a
    400."""
    if not isinstance(params, Mapping):
        raise DRFValidationError({"params": [ErrorDetail(_("Send an object of filters."), code="invalid")]})
    errors: dict[str, list[ErrorDetail]] = {}
    result: MultiValueDict[str, str] = MultiValueDict()
    for name, value in params.items():
        param = _PARAMS.get(name)
        if param is None:
            errors[name] = [ErrorDetail(_("Not a filter of the products list."), code="unknown_param")]
            continue
        if value is None:
            continue
        values = value if isinstance(value, list) and param.repeatable else [value]
        strings = [_scalar(item) for item in values]
        if not strings or any(string is None for string in strings):
            message = _("Send a value or a list of values.") if param.repeatable else _("Send a single value.")
            errors[name] = [ErrorDetail(message, code="invalid")]
            continue
        kept = [string.strip() for string in strings if string is not None and string.strip()]
        if kept:
            result.setlist(name, kept)
    if errors:
        raise DRFValidationError(errors)
    return result


def _stored(strings: MultiValueDict[str, str]) -> dict[str, Any]:
    """What the search keeps and shows: a string per parameter, a list for a repeated one."""
    stored: dict[str, Any] = {}
    for name, values in strings.lists():
        if values:
            stored[name] = values if _PARAMS[name].repeatable and len(values) > 1 else values[0]
    return stored


def _box(*, latitude: float, longitude: float, metres: float) -> Polygon:
    """A lon/lat box that holds the circle (the exact test is the database's, on ``center``)."""
    dlat = metres / 111_000.0 * 1.01
    dlng = dlat / max(math.cos(math.radians(min(abs(latitude) + dlat, 89.0))), 0.01)
    box = Polygon.from_bbox((longitude - dlng, latitude - dlat, longitude + dlng, latitude + dlat))
    box.srid = 4326
    return box


def _filters(parsed: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the candidates are checked for beyond the index: condition, feed type, seller, and
    the attributes (``attr``: key → any of these values; ``attr_ranges``: [key, gte|lte, n])."""
    filters: dict[str, Any] = {
        name: str(parsed[name]) for name in ("condition", "feed_type", "seller") if parsed.get(name)
    }
    if parsed.get("attr"):
        filters["attr"] = {key: list(values) for key, values in parsed["attr"].items()}
    if parsed.get("attr_ranges"):
        filters["attr_ranges"] = [[key, bound, number] for key, bound, number in parsed["attr_ranges"]]
    return filters or None


def _index_fields(parsed: Mapping[str, Any]) -> dict[str, Any]:
    words = text.query_words(parsed.get("q") or "")
    fields: dict[str, Any] = {
        "category": parsed.get("category") or "",
        "q_key": words[0][:100] if words else "",
        "q_words": words[1:],
        "q_pair": text.pair_key(words[0], words[1]) if len(words) >= 2 else "",
        "min_price": parsed.get("min_price"),
        "max_price": parsed.get("max_price"),
        "area": None,
        "center": None,
        "filters": _filters(parsed),
        "radius_m": None,
    }
    if parsed.get("lat") is not None:
        metres = radius_metres(parsed.get("radius_km"), default_km=settings.MAX_SEARCH_RADIUS_KM)
        lat, lng = float(parsed["lat"]), float(parsed["lng"])
        fields.update(
            center=make_point(latitude=lat, longitude=lng),
            radius_m=float(metres),
            area=_box(latitude=lat, longitude=lng, metres=float(metres)),
        )
    return fields


@transaction.atomic
def saved_search_create(*, user: User, params: Mapping[str, Any], name: str = "", alerts: bool = True) -> SavedSearch:
    """Save the products list's filters (validated by the list's own parser: a bad one is a
    400 naming it); at most ``SAVED_SEARCHES_MAX`` per person (409 ``saved_search_limit``)."""
    strings = _param_strings(params)
    parsed = parse_search_params(strings)
    # The person's row lock orders two saves racing for the last free place.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if SavedSearch.objects.filter(user=user).count() >= settings.SAVED_SEARCHES_MAX:
        raise Conflict(
            _("You can keep up to %(count)s saved searches: delete one first.")
            % {"count": settings.SAVED_SEARCHES_MAX},
            code="saved_search_limit",
        )
    return SavedSearch.objects.create(
        user=user, name=name, params=_stored(strings), alerts=alerts, **_index_fields(parsed)
    )


def saved_search_delete(*, user: User, search_id: Any) -> None:
    deleted, _by_model = SavedSearch.objects.filter(user=user, pk=search_id).delete()
    if not deleted:
        raise NotFound(_("Saved search not found."), code="saved_search_not_found")


# --- percolation ----------------------------------------------------------------------------


@dataclass
class _Hits:
    count: int = 0
    titles: list[str] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PercolationResult:
    listings: int
    matches: int
    matched_searches: int
    alerts: int


def _verify(q_words: list[str], filters: dict[str, Any] | None, listing: Mapping[str, Any], words: set[str]) -> bool:
    """The predicates the index query did not check, for one candidate (the SpatiaLite path;
    PostGIS checks the same in ``selectors._PERCOLATE_SQL``)."""
    if any(word not in words for word in q_words):
        return False
    if not filters:
        return True
    for name in ("condition", "feed_type"):
        if filters.get(name) and filters[name] != listing[name]:
            return False
    seller = filters.get("seller")
    if seller and seller != str(listing["seller_id"]) and seller.lower() != (listing["seller__username"] or "").lower():
        return False
    return _attributes_hold(filters, listing.get("attributes") or {})


def _attributes_hold(filters: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """Each ``attr`` key holds one of its values; each ``attr_ranges`` bound holds on a number."""
    for key, values in (filters.get("attr") or {}).items():
        if key not in attributes or attributes[key] not in values:
            return False
    for key, bound, number in filters.get("attr_ranges") or ():
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if (bound == "gte" and value < number) or (bound == "lte" and value > number):
            return False
    return True


def _listing_words(listing: Mapping[str, Any]) -> set[str]:
    tags = " ".join(str(tag) for tag in listing.get("tags") or [])
    return text.words(f"{listing['title']} {listing['description']} {tags}")


def _matches(listings: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    """``(search id, listing)`` for every match, listings in creation order. PostGIS: one
    statement for the whole run, in chunks; SpatiaLite: the index query per listing, the
    remaining words and filters checked here."""
    words = [_listing_words(listing) for listing in listings]
    # A listing never alerts someone in a block with its seller, either way.
    blocked = block_partners(user_ids={listing["seller_id"] for listing in listings})
    if is_postgis():
        found: list[tuple[Any, dict[str, Any]]] = []
        for start in range(0, len(listings), MATCH_CHUNK):
            chunk = listings[start : start + MATCH_CHUNK]
            pairs = selectors.saved_search_matches_postgis(
                listings=chunk, words=words[start : start + MATCH_CHUNK], blocked=blocked
            )
            found += [(search_id, chunk[index]) for search_id, index in sorted(pairs, key=lambda pair: pair[1])]
        return found
    result = []
    for listing, listing_words in zip(listings, words, strict=True):
        unwelcome = blocked.get(listing["seller_id"], set())
        for search_id, user_id, q_words, filters in selectors.saved_search_candidates(
            listing=listing, words=listing_words
        ):
            if user_id not in unwelcome and _verify(q_words, filters, listing, listing_words):
                result.append((search_id, listing))
    return result


def percolate(*, now: datetime | None = None, limit: int = 5000) -> PercolationResult:
    """One run: match the listings created since the mark, alert or hold, move the mark.
    Runs are serialised by the mark's row lock (a second one waits, then finds nothing new)."""
    now = now or timezone.now()
    with transaction.atomic():
        mark = PercolationMark.objects.select_for_update().filter(key=MARK_KEY).first()
        if mark is None:
            # First run: start from now (older listings are nobody's news).
            PercolationMark.objects.get_or_create(
                key=MARK_KEY, defaults={"created_at": now - PERCOLATION_LAG, "product_id": _NIL}
            )
            mark = PercolationMark.objects.select_for_update().get(key=MARK_KEY)
        listings = listings_created_between(
            after=(mark.created_at, mark.product_id), until=now - PERCOLATION_LAG, limit=limit
        )
        hits: dict[Any, _Hits] = {}
        matches = 0
        for search_id, listing in _matches(listings):
            matches += 1
            hit = hits.setdefault(search_id, _Hits())
            hit.count += 1
            if len(hit.titles) < ALERT_TITLES:
                hit.titles.append(listing["title"])
                hit.product_ids.append(str(listing["id"]))
        alerts = _settle(hits=hits, now=now)
        alerts += _flush_waiting(now=now, skip=set(hits))
        if listings:
            last = listings[-1]
            mark.created_at, mark.product_id = last["created_at"], last["id"]
            mark.save(update_fields=["created_at", "product_id", "updated_at"])
        for start in range(0, len(alerts), ALERTS_PER_EVENT):
            events.publish(
                "saved_search.alerts", channel=None, data={"alerts": alerts[start : start + ALERTS_PER_EVENT]}
            )
    result = PercolationResult(len(listings), matches, len(hits), len(alerts))
    if listings:
        logger.info("saved searches percolated", extra=result.__dict__)
    return result


_NIL = "00000000-0000-0000-0000-000000000000"


def _window(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.SAVED_SEARCH_ALERT_MINUTES)


def _alert(
    search: Mapping[str, Any], *, count: int, titles: list[str], product_ids: list[str], now: datetime
) -> dict[str, Any]:
    return {
        "alerted_at": now.isoformat(),
        "user_id": str(search["user_id"]),
        "saved_search_id": str(search["id"]),
        "name": search["name"] or (search["params"] or {}).get("q") or "",
        "count": count,
        "titles": titles[:ALERT_TITLES],
        "product_ids": product_ids[:ALERT_TITLES],
    }


def _settle(*, hits: dict[Any, _Hits], now: datetime) -> list[dict[str, Any]]:
    """Alert the matched searches that may alert now; the others keep their matches waiting.
    PostGIS: one read-and-write statement per chunk; SpatiaLite: read, then write."""
    edge = _window(now)
    if is_postgis():
        rows = [{"id": search_id, "count": hit.count, "titles": hit.titles} for search_id, hit in hits.items()]
        due = _settle_postgis(hits=rows, edge=edge, now=now, keep=ALERT_TITLES)
        return [
            _alert(row, count=row["count"], titles=row["titles"], product_ids=hits[row["id"]].product_ids, now=now)
            for row in due
        ]
    state = selectors.saved_search_states(ids=list(hits))
    alerts: list[dict[str, Any]] = []
    alerted: list[Any] = []
    held: list[dict[str, Any]] = []
    for search_id, hit in hits.items():
        search = state.get(search_id)
        if search is None:  # deleted meanwhile
            continue
        count = search["pending_count"] + hit.count
        titles = (list(search["pending_titles"]) + hit.titles)[:ALERT_TITLES]
        if search["last_alerted_at"] is None or search["last_alerted_at"] <= edge:
            alerts.append(_alert(search, count=count, titles=titles, product_ids=hit.product_ids, now=now))
            alerted.append(search_id)
        else:
            held.append({"id": search_id, "count": count, "titles": titles, "since": search["pending_since"] or now})
    for start in range(0, len(alerted), 5000):
        SavedSearch.objects.filter(pk__in=alerted[start : start + 5000]).update(
            pending_count=0, pending_titles=[], pending_since=None, last_alerted_at=now
        )
    _hold(held=held)
    return alerts


def _flush_waiting(*, now: datetime, skip: set[Any]) -> list[dict[str, Any]]:
    """Searches whose matches waited out the window with nothing new since: alert them now."""
    due = [row for row in selectors.saved_searches_waiting(due_before=_window(now)) if row["id"] not in skip]
    if not due:
        return []
    alerts = [
        _alert(row, count=row["pending_count"], titles=row["pending_titles"], product_ids=[], now=now) for row in due
    ]
    SavedSearch.objects.filter(pk__in=[row["id"] for row in due]).update(
        pending_count=0, pending_titles=[], pending_since=None, last_alerted_at=now
    )
    return alerts


# --- writes of the percolator's state (PostGIS: one statement a chunk) -------------------------


def _hold(*, held: list[dict[str, Any]]) -> None:
    """Write the waiting matches (``id, count, titles, since``) of many searches (the SpatiaLite
    path; PostGIS settles in ``_settle_postgis``)."""
    if held:
        SavedSearch.objects.bulk_update(
            [
                SavedSearch(
                    pk=row["id"], pending_count=row["count"], pending_titles=row["titles"], pending_since=row["since"]
                )
                for row in held
            ],
            ["pending_count", "pending_titles", "pending_since"],
        )


# PostGIS: settle a run's matches in one statement per chunk. Each matched search either
# alerts now (not alerted within the window: its waiting matches go out with the new ones and
# it starts a new window) or holds them (count added, first titles kept); the rows that alert
# come back with what the alert says. Read and write in one go, under the rows' locks.
_SETTLE_SQL = """
WITH h AS (
    SELECT * FROM jsonb_to_recordset(%(hits)s::jsonb) AS h(id uuid, count int, titles jsonb)
), old AS (
    SELECT s.id, s.user_id, s.name, s.params ->> 'q' AS q, s.pending_count, s.pending_titles,
           s.pending_since, h.count, h.titles,
           (s.last_alerted_at IS NULL OR s.last_alerted_at <= %(edge)s) AS due
      FROM discovery_savedsearch s JOIN h ON h.id = s.id
       FOR UPDATE OF s
), settled AS (
    UPDATE discovery_savedsearch s
       SET pending_count = CASE WHEN o.due THEN 0 ELSE o.pending_count + o.count END,
           pending_titles = CASE WHEN o.due THEN '[]'::jsonb ELSE COALESCE((
               SELECT jsonb_agg(t.value ORDER BY t.n)
                 FROM jsonb_array_elements(o.pending_titles || o.titles) WITH ORDINALITY AS t(value, n)
                WHERE t.n <= %(keep)s), '[]'::jsonb) END,
           pending_since = CASE WHEN o.due THEN NULL ELSE COALESCE(o.pending_since, %(now)s) END,
           last_alerted_at = CASE WHEN o.due THEN %(now)s ELSE s.last_alerted_at END
      FROM old o
     WHERE s.id = o.id
    RETURNING s.id
)
SELECT o.id, o.user_id, o.name, o.q, o.pending_count + o.count, o.pending_titles || o.titles
  FROM old o JOIN settled USING (id)
 WHERE o.due
"""


def _settle_postgis(*, hits: list[dict[str, Any]], edge: datetime, now: datetime, keep: int) -> list[dict[str, Any]]:
    """Settle ``hits`` (``id, count, titles``); returns the searches that alert now with their
    ``user_id, name, params_q, count, titles`` (PostGIS only)."""
    import json

    due: list[dict[str, Any]] = []
    for start in range(0, len(hits), 5000):
        chunk = [
            {"id": str(hit["id"]), "count": hit["count"], "titles": hit["titles"]} for hit in hits[start : start + 5000]
        ]
        with connection.cursor() as cursor:
            cursor.execute(_SETTLE_SQL, {"hits": json.dumps(chunk), "edge": edge, "now": now, "keep": keep})
            for search_id, user_id, name, q, count, titles in cursor.fetchall():
                if isinstance(titles, str):
                    titles = json.loads(titles)
                due.append(
                    {
                        "id": search_id,
                        "user_id": user_id,
                        "name": name,
                        "params": {"q": q},
                        "count": count,
                        "titles": titles,
                    }
                )
    return due
