from __future__ import annotations

import uuid

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
        # Applied together in filter_queryset: geo, text and ordering depend on each other.
        return queryset

    def filter_seller(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        try:
            return queryset.filter(seller_id=uuid.UUID(value))
        except ValueError:
            return queryset.filter(seller__username__iexact=value)

    @property
    def qs(self) -> QuerySet[Product]:
        if not hasattr(self, "_search_qs"):
            qs = super().qs
            data = self.form.cleaned_data if self.is_bound and self.is_valid() else {}
            if not data.get("include_sold"):
                qs = qs.filter(is_available=True)
            point = None
            if data.get("lat") is not None and data.get("lng") is not None:
                point = make_point(latitude=data["lat"], longitude=data["lng"])
            cap = float(settings.MAX_SEARCH_RADIUS_KM)
            radius = data.get("radius_km")
            self._search_qs = selectors.products_search(
                qs,
                q=data.get("q") or None,
                point=point,
                radius_km=min(float(radius), cap) if radius is not None else cap,
                ordering=data.get("ordering") or "newest",
            )
        return self._search_qs
