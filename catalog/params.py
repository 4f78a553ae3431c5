"""The products list's query parameters: one table, one parser, and the schema from the table.

``GET /products/`` is the hot path of the app, so its parameters are parsed by one small
function (no FilterSet and form built per request) that reports every bad parameter the
way a serializer would (400 ``validation_error``, one entry per parameter with its ``attr``).
The OpenAPI parameters are generated from the same table, so the schema cannot drift from
what the parser accepts. ``search_args`` turns the parsed values into the selector's
arguments (``catalog.selectors.search_products``), the one builder of the search.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ErrorDetail
from rest_framework.exceptions import ValidationError as DRFValidationError

from catalog import attributes, selectors
from catalog.models import Category, Condition, FeedType
from soukloop.geo import make_point, radius_metres

ORDERING_CHOICES = [
    ("newest", _("Newest first")),
    ("price", _("Price, low to high")),
    ("-price", _("Price, high to low")),
    ("distance", _("Nearest first (needs lat and lng)")),
    ("popular", _("Most liked first")),
    ("relevance", _("Best match first (needs q)")),
]

MAX_ATTRIBUTE_VALUES = 20  # values of one repeated attr.<key>
_DECIMAL = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,12})?")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


@dataclasses.dataclass(frozen=True)
class Param:
    """One query parameter: ``kind`` is ``choice``, ``number``, ``text`` or ``boolean``."""

    name: str
    kind: str
    description: str
    choices: tuple[tuple[str, Any], ...] = ()
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    max_length: int = 200
    # ``attr.<key>`` filters: the attribute's key, repeatable values (OR-ed), or a range bound.
    attribute: str = ""
    repeatable: bool = False
    bound: str = ""  # "gte" or "lte"


def _attribute_params() -> tuple[Param, ...]:
    """``attr.<key>`` (repeatable) for every attribute key, and ``attr.<key>__gte/__lte`` for
    the numeric ones (catalog.attributes)."""
    result: list[Param] = []
    for key, attr in sorted(attributes.ALL_KEYS.items()):
        kind = {"choice": "choice", "number": "number", "text": "text"}[attr.type]
        label = f"Attribute {key} ({attr.type}); repeat to match any of several values."
        result.append(
            Param(f"attr.{key}", kind, label, choices=attr.choices, attribute=key, repeatable=True, max_length=100)
        )
        if attr.type == "number":
            for bound, word in (("gte", "at least"), ("lte", "at most")):
                result.append(
                    Param(f"attr.{key}__{bound}", "number", f"Attribute {key} {word}.", attribute=key, bound=bound)
                )
    return tuple(result)


PARAMS: tuple[Param, ...] = (
    Param("category", "choice", "Category.", choices=tuple(Category.choices)),
    Param("condition", "choice", "Condition.", choices=tuple(Condition.choices)),
    Param("feed_type", "choice", "Community or discover listings.", choices=tuple(FeedType.choices)),
    Param("min_price", "number", "Lowest price (AED).", min_value=Decimal(0)),
    Param("max_price", "number", "Highest price (AED).", min_value=Decimal(0)),
    Param("seller", "text", "Seller id or username."),
    Param("q", "text", "Full-text search."),
    Param("lat", "number", "Latitude (WGS84), with lng.", min_value=Decimal(-90), max_value=Decimal(90)),
    Param("lng", "number", "Longitude (WGS84), with lat.", min_value=Decimal(-180), max_value=Decimal(180)),
    Param(
        "radius_km",
        "number",
        "Kilometres around lat/lng, capped at MAX_SEARCH_RADIUS_KM (default 50).",
        min_value=Decimal("0.01"),
    ),
    Param("include_sold", "boolean", "Include sold listings."),
    Param("ordering", "choice", "Order of the results.", choices=tuple(ORDERING_CHOICES)),
    *_attribute_params(),
)
_BY_NAME = {param.name: param for param in PARAMS}


def _error(errors: dict[str, list[ErrorDetail]], name: str, message: Any, code: str) -> None:
    errors.setdefault(name, []).append(ErrorDetail(str(message), code=code))


def _parse_one(param: Param, raw: str, errors: dict[str, list[ErrorDetail]]) -> Any:
    """The parameter's value, or ``None`` after recording why it is not one."""
    if param.kind == "choice":
        if raw not in {key for key, _label in param.choices}:
            _error(errors, param.name, _("Select a valid choice. That is not one of the choices."), "invalid_choice")
            return None
        return raw
    if param.kind == "number":
        try:
            if not _DECIMAL.fullmatch(raw):
                raise InvalidOperation
            number = Decimal(raw)
        except InvalidOperation:
            _error(errors, param.name, _("Enter a number."), "invalid")
            return None
        if param.min_value is not None and number < param.min_value:
            _error(errors, param.name, _("Ensure this value is at least %s.") % param.min_value, "min_value")
            return None
        if param.max_value is not None and number > param.max_value:
            _error(errors, param.name, _("Ensure this value is at most %s.") % param.max_value, "max_value")
            return None
        return number
    if param.kind == "boolean":
        lowered = raw.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        _error(errors, param.name, _("Must be true or false."), "invalid")
        return None
    if len(raw) > param.max_length:
        _error(errors, param.name, _("At most %d characters.") % param.max_length, "max_length")
        return None
    if "\x00" in raw:
        _error(errors, param.name, _("Null characters are not allowed."), "null_characters_not_allowed")
        return None
    return raw


def parse_search_params(params: Mapping[str, str]) -> dict[str, Any]:
    """The list's parameters as values (absent or empty ones left out); every bad parameter
    raises one 400 naming them all."""
    data: dict[str, Any] = {}
    errors: dict[str, list[ErrorDetail]] = {}
    for name in params:
        if name.startswith("attr.") and name not in _BY_NAME:
            _error(errors, name, _("Unknown attribute."), "invalid")
    for param in PARAMS:
        if param.attribute:
            if param.name in params:
                _parse_attribute(param, params, data, errors)
            continue
        raw = params.get(param.name)
        if raw is None:
            continue
        raw = raw.strip()
        if raw == "":
            continue  # an empty parameter filters nothing, as a form field would
        value = _parse_one(param, raw, errors)
        if value is not None:
            data[param.name] = value
    _cross_field_rules(data, errors)
    if errors:
        raise DRFValidationError(errors)
    return data


def _parse_attribute(
    param: Param, params: Mapping[str, str], data: dict[str, Any], errors: dict[str, list[ErrorDetail]]
) -> None:
    """``attr.<key>`` values (all of a repeated one) into ``data["attr"]``, bounds into
    ``data["attr_ranges"]``."""
    getlist = getattr(params, "getlist", None)
    raws = getlist(param.name) if param.repeatable and getlist is not None else [params[param.name]]
    values = []
    for raw in raws:
        raw = raw.strip()
        if raw == "":
            continue
        value = _parse_one(param, raw, errors)
        if value is None:
            return
        values.append(attributes.parse_number(value) if param.kind == "number" else value)
    if not values:
        return
    if param.bound:
        data.setdefault("attr_ranges", []).append((param.attribute, param.bound, values[-1]))
    else:
        values = list(dict.fromkeys(values))
        if len(values) > MAX_ATTRIBUTE_VALUES:
            _error(errors, param.name, _("At most %d values.") % MAX_ATTRIBUTE_VALUES, "max_length")
            return
        data.setdefault("attr", {})[param.attribute] = values


def _cross_field_rules(data: dict[str, Any], errors: dict[str, list[ErrorDetail]]) -> None:
    lat, lng = data.get("lat"), data.get("lng")
    if (lat is None) != (lng is None) and "lat" not in errors and "lng" not in errors:
        _error(errors, "lng" if lat is not None else "lat", _("Send lat and lng together."), "required")
    if "radius_km" in data and lat is None and "lat" not in errors:
        _error(errors, "radius_km", _("radius_km needs lat and lng."), "required")
    if data.get("ordering") == "distance" and (lat is None or lng is None) and "lat" not in errors:
        _error(errors, "ordering", _("Ordering by distance needs lat and lng."), "required")
    low, high = data.get("min_price"), data.get("max_price")
    if low is not None and high is not None and low > high:
        _error(errors, "max_price", _("max_price must not be below min_price."), "invalid")
    category = data.get("category")
    if category is not None:
        known = attributes.BY_KEY.get(category, {})
        used = {*data.get("attr", {}), *(key for key, _bound, _value in data.get("attr_ranges", ()))}
        for key in sorted(used - known.keys()):
            _error(errors, f"attr.{key}", _("Not an attribute of this category."), "invalid")


def search_args(data: Mapping[str, Any]) -> dict[str, Any]:
    """The selector's arguments (``selectors.SEARCH_ARGS``; ``None``: not filtered) from parsed
    parameters."""
    args: dict[str, Any] = dict.fromkeys(selectors.SEARCH_ARGS)
    for name in ("category", "condition", "feed_type", "min_price", "max_price", "q"):
        args[name] = data.get(name)
    seller = data.get("seller")
    if seller:
        try:
            args["seller_id"] = uuid.UUID(seller)
        except ValueError:
            args["seller_username"] = seller
    if data.get("attr"):
        args["attributes"] = data["attr"]
    if data.get("attr_ranges"):
        args["attribute_ranges"] = data["attr_ranges"]
    if data.get("lat") is not None and data.get("lng") is not None:
        args["point"] = make_point(latitude=data["lat"], longitude=data["lng"])
        args["metres"] = radius_metres(data.get("radius_km"), default_km=settings.MAX_SEARCH_RADIUS_KM)
    return args


_SCHEMA_TYPES = {"number": OpenApiTypes.DOUBLE, "boolean": OpenApiTypes.BOOL, "text": OpenApiTypes.STR}


def openapi_parameters() -> list[OpenApiParameter]:
    """The table as OpenAPI parameters (types, ranges and enums included)."""
    result = []
    for param in PARAMS:
        if param.kind == "choice":
            result.append(
                OpenApiParameter(
                    param.name,
                    OpenApiTypes.STR,
                    enum=[key for key, _label in param.choices],
                    description=param.description,
                )
            )
        else:
            result.append(OpenApiParameter(param.name, _SCHEMA_TYPES[param.kind], description=param.description))
    return result
