"""Coordinates in and out of the API, and the one place backend differences live."""

from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection

WGS84 = 4326


def make_point(*, latitude: float, longitude: float) -> Point:
    """A WGS84 point; GEOS takes (x=longitude, y=latitude)."""
    return Point(float(longitude), float(latitude), srid=WGS84)


def point_to_dict(point: Point | None) -> dict[str, float] | None:
    """The contract's ``location``: ``{"latitude": .., "longitude": ..}`` or ``None``."""
    if point is None:
        return None
    return {"latitude": round(point.y, 6), "longitude": round(point.x, 6)}


def is_postgis() -> bool:
    return connection.vendor == "postgresql"


def validate_lat_lng(latitude: Any, longitude: Any) -> tuple[float, float]:
    """Range-check a pair; raises ValueError naming the bad one."""
    lat, lng = float(latitude), float(longitude)
    if not -90 <= lat <= 90:
        raise ValueError("latitude")
    if not -180 <= lng <= 180:
        raise ValueError("longitude")
    return lat, lng


def radius_metres(radius_km: Any, *, default_km: Any) -> float:
    """The one radius clamp: the requested radius (or ``default_km`` when none was asked for),
    capped at ``MAX_SEARCH_RADIUS_KM``, in metres."""
    from django.conf import settings

    wanted = float(radius_km) if radius_km is not None else float(default_km)
    return min(wanted, float(settings.MAX_SEARCH_RADIUS_KM)) * 1000.0
