from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from catalog import selectors
from catalog.models import Category, Condition, FeedType, Product
from soukloop.geo import make_point

ORDERING_CHOICES = [
    ("newest", _("Newest first")),
    ("price", _("Price, low to high")),
    ("-price", _("Price, high to low")),
    ("distance", _("Nearest first (needs lat and lng)")),
    ("popular", _("Most liked first")),
    ("relevance", _("Best match first (needs q)")),
]


class ProductFilterForm(forms.Form):
    """Cross-field rules of the search, reported per field (400 with ``attr``)."""

    def clean(self):
        data = super().clean()
        lat, lng = data.get("lat"), data.get("lng")
        if (lat is None) != (lng is None) and not self.errors.get("lat") and not self.errors.get("lng"):
            missing = "lng" if lat is not None else "lat"
            self.add_error(missing, forms.ValidationError(_("Send lat and lng together."), code="required"))
        if data.get("radius_km") is not None and lat is None:
            self.add_error("radius_km", forms.ValidationError(_("radius_km needs lat and lng."), code="required"))
        if data.get("ordering") == "distance" and (lat is None or lng is None):
            self.add_error(
                "ordering", forms.ValidationError(_("Ordering by distance needs lat and lng."), code="required")
            )
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_price", forms.ValidationError(_("max_price must not be below min_price."), code="invalid")
            )
        return data


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    condition = django_filters.ChoiceFilter(choices=Condition.choices)
    feed_type = django_filters.ChoiceFilter(choices=FeedType.choices)
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", min_value=0)
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", min_value=0)
    seller = django_filters.CharFilter(method="filter_seller", help_text="Seller id or username.")
    q = django_filters.CharFilter(method="filter_noop", max_length=200, help_text="Full-text search.")
    lat = django_filters.NumberFilter(method="filter_noop", min_value=-90, max_value=90)
    lng = django_filters.NumberFilter(method="filter_noop", min_value=-180, max_value=180)
    radius_km = django_filters.NumberFilter(
        method="filter_noop",
        min_value=0.01,
        help_text="Kilometres around lat/lng, capped at MAX_SEARCH_RADIUS_KM (default 50).",
    )
    include_sold = django_filters.BooleanFilter(method="filter_noop", help_text="Include sold listings.")
    ordering = django_filters.ChoiceFilter(choices=ORDERING_CHOICES, method="filter_noop")

    class Meta:
        model = Product
        fields = ["category", "condition", "feed_type"]
        form = ProductFilterForm

    def filter_noop(self, queryset: QuerySet[Product], name: str, value: object) -> QuerySet[Product]:
        # Never called: ``qs`` applies everything at once (``apply_search``).
        return queryset

    def filter_seller(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return filter_seller(queryset, value)

    @property
    def qs(self) -> QuerySet[Product]:
        if not hasattr(self, "_search_qs"):
            data = self.form.cleaned_data if self.is_bound and self.is_valid() else {}
            self._search_qs = apply_search(self.queryset, data)
        return self._search_qs


def filter_seller(queryset: QuerySet[Product], value: str) -> QuerySet[Product]:
    args = _seller_args(value)
    if "seller_id" in args:
        return queryset.filter(seller_id=args["seller_id"])
    return queryset.filter(seller__username__iexact=args["seller_username"])


def _seller_args(value: str) -> dict[str, Any]:
    try:
        return {"seller_id": uuid.UUID(value)}
    except ValueError:
        return {"seller_username": value}


def search_args(data: dict[str, Any]) -> dict[str, Any]:
    """The values a search filters on (``selectors.SEARCH_ARGS``; ``None``: not filtered), from
    ``ProductFilter``'s cleaned data."""
    args: dict[str, Any] = dict.fromkeys(selectors.SEARCH_ARGS)
    for name in ("category", "condition", "feed_type"):
        args[name] = data.get(name) or None
    args["min_price"], args["max_price"] = data.get("min_price"), data.get("max_price")
    if data.get("seller"):
        args.update(_seller_args(data["seller"]))
    args["q"] = (data.get("q") or "").strip() or None
    if data.get("lat") is not None and data.get("lng") is not None:
        args["point"] = make_point(latitude=data["lat"], longitude=data["lng"])
        cap = float(settings.MAX_SEARCH_RADIUS_KM)
        radius = data.get("radius_km")
        args["metres"] = (min(float(radius), cap) if radius is not None else cap) * 1000.0
    return args


def apply_search(qs: QuerySet[Product], data: dict[str, Any]) -> QuerySet[Product] | selectors.NewestMatches:
    """The search as ``ProductFilter``'s cleaned data describes it: filters, then text, geo and
    ordering together (they depend on each other)."""
    return selectors.search_products(
        qs, search_args(data), ordering=data.get("ordering") or "newest", include_sold=bool(data.get("include_sold"))
    )


_DECIMAL = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,12})?")
# The rules below are read from ProductFilter's declarations, so the two cannot drift apart.
_FILTERS = ProductFilter.base_filters
_CHOICES = {
    name: frozenset(key for key, _label in f.extra["choices"])
    for name, f in _FILTERS.items()
    if isinstance(f, django_filters.ChoiceFilter)
}
_RANGES = {
    name: (f.extra.get("min_value"), f.extra.get("max_value"))
    for name, f in _FILTERS.items()
    if isinstance(f, django_filters.NumberFilter)
}
_TEXT_MAX_LENGTH = {
    name: f.extra.get("max_length") for name, f in _FILTERS.items() if isinstance(f, django_filters.CharFilter)
}
_BOOLEANS = {"true": True, "false": False}


def parse_search_params(params: Mapping[str, str]) -> dict[str, Any] | None:
    """``ProductFilter``'s cleaned data for plainly valid parameters, without building a
    FilterSet and its form per request (the list's hot path); ``None`` for anything else, which
    the caller then hands to ``ProductFilter`` so every error (and edge case) stays its own."""
    data: dict[str, Any] = {}
    for name, allowed in _CHOICES.items():
        value = params.get(name)
        if value is not None:
            if value not in allowed:
                return None
            data[name] = value
    for name, (low, high) in _RANGES.items():
        value = params.get(name)
        if value is not None:
            if not _DECIMAL.fullmatch(value):
                return None
            number = Decimal(value)
            if (low is not None and number < low) or (high is not None and number > high):
                return None
            data[name] = number
    for name, max_length in _TEXT_MAX_LENGTH.items():
        value = params.get(name)
        if value is not None:
            if not value or value != value.strip() or len(value) > (max_length or 200) or "\x00" in value:
                return None
            data[name] = value
    value = params.get("include_sold")
    if value is not None:
        if value not in _BOOLEANS:
            return None
        data["include_sold"] = _BOOLEANS[value]
    has_lat, has_lng = "lat" in data, "lng" in data
    if has_lat != has_lng or ("radius_km" in data and not has_lat):
        return None
    if data.get("ordering") == "distance" and not has_lat:
        return None
    if "min_price" in data and "max_price" in data and data["min_price"] > data["max_price"]:
        return None
    return data
