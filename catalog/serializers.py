"""Input validation and output shapes for listings.

List endpoints are the hot path: ``ProductListSerializer`` declares its fields for the
OpenAPI schema but renders each row with one plain dict build from precomputed attributes
(coordinates and distance come from the database), with no per-row queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.serializers import LocationSerializer  # the one `Location` schema component
from catalog import attributes
from catalog.models import Category, Condition, FeedType, Product
from catalog.selectors import LIST_VALUES
from soukloop.geo import point_to_dict
from soukloop.storage import is_own_media_url

MAX_IMAGES = 10
MAX_TAGS = 10
MAX_TAG_LENGTH = 30


class SellerSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    avatar_url = serializers.CharField()
    is_verified = serializers.BooleanField()
    verification_status = serializers.CharField()
    rating = serializers.FloatField(allow_null=True, help_text="Mean of published reviews; null without any.")
    rating_count = serializers.IntegerField()


def _rating(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _dt(value: datetime | None, tz: tzinfo) -> str | None:
    """What DRF's ``DateTimeField`` renders (ISO 8601 in the current time zone, ``Z`` for UTC),
    without building a field per value."""
    if not value:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def product_list_row(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """One list item (the ``ProductListSerializer`` shape) from a ``LIST_VALUES`` row, plus
    ``distance`` (metres) when the query computed one."""
    lat = row["lat"]
    distance = row.get("distance")
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "price": _money(row["price"]),
        "original_price": _money(row["original_price"]),
        "currency": row["currency"],
        "category": row["category"],
        "condition": row["condition"],
        "feed_type": row["feed_type"],
        "location": None if lat is None else {"latitude": round(lat, 6), "longitude": round(row["lng"], 6)},
        "neighborhood": row["neighborhood"],
        "building_name": row["building_name"],
        "image_urls": row["image_urls"],
        "video_url": row["video_url"],
        "tags": row["tags"],
        "attributes": row.get("attributes") or {},
        "is_available": row["is_available"],
        "sold_at": _dt(row["sold_at"], tz),
        "view_count": row["view_count"],
        "like_count": row["like_count"],
        "is_liked": bool(row["is_liked"]),
        "distance_km": None if distance is None else round(distance / 1000.0, 3),
        "seller": {
            "id": str(row["seller_id"]),
            "username": row["seller__username"],
            "full_name": row["seller__full_name"],
            "avatar_url": row["seller__avatar_url"],
            "is_verified": row["seller__is_verified"],
            "verification_status": row["seller__verification_status"],
            "rating": _rating(row.get("seller__stats__rating")),
            "rating_count": row.get("seller__stats__rating_count") or 0,
        },
        "created_at": _dt(row["created_at"], tz),
        "updated_at": _dt(row["updated_at"], tz),
    }


def product_list_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of list items from ``LIST_VALUES`` rows (the list endpoints' hot path)."""
    tz = timezone.get_current_timezone()
    return [product_list_row(row, tz) for row in rows]


class ProductListSerializer(serializers.Serializer):
    """One listing in a list (read-only, lean)."""

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    original_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True)
    currency = serializers.CharField(read_only=True)
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    condition = serializers.ChoiceField(choices=Condition.choices, read_only=True)
    feed_type = serializers.ChoiceField(choices=FeedType.choices, read_only=True)
    location = LocationSerializer(read_only=True, allow_null=True)
    neighborhood = serializers.CharField(read_only=True)
    building_name = serializers.CharField(read_only=True)
    image_urls = serializers.ListField(child=serializers.URLField(), read_only=True)
    video_url = serializers.CharField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    attributes = serializers.DictField(read_only=True)
    is_available = serializers.BooleanField(read_only=True)
    sold_at = serializers.DateTimeField(read_only=True, allow_null=True)
    view_count = serializers.IntegerField(read_only=True)
    like_count = serializers.IntegerField(read_only=True)
    is_liked = serializers.BooleanField(read_only=True)
    distance_km = serializers.FloatField(read_only=True, allow_null=True, required=False)
    seller = SellerSummarySerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Product) -> dict[str, Any]:
        lat = getattr(instance, "lat", None)
        lng = getattr(instance, "lng", None)
        if lat is None and "location" in instance.__dict__ and instance.location is not None:
            location = point_to_dict(instance.location)
            lat, lng = location["latitude"], location["longitude"]
        seller = instance.seller
        row = {name: getattr(instance, name, None) for name in LIST_VALUES if "__" not in name}
        row.update(
            lat=lat,
            lng=lng,
            distance=getattr(instance, "distance", None),
            seller__username=seller.username,
            seller__full_name=seller.full_name,
            seller__avatar_url=seller.avatar_url,
            seller__is_verified=seller.is_verified,
            seller__verification_status=seller.verification_status,
            seller__stats__rating=getattr(getattr(seller, "stats", None), "rating", None),
            seller__stats__rating_count=getattr(getattr(seller, "stats", None), "rating_count", 0),
        )
        return product_list_row(row, timezone.get_current_timezone())


class LikedProductSerializer(ProductListSerializer):
    """A listing in my likes: the list item plus when I liked it and whether it has sold."""

    liked_at = serializers.DateTimeField(read_only=True)
    is_sold = serializers.BooleanField(read_only=True)


def liked_product_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    tz = timezone.get_current_timezone()
    items = []
    for row in rows:
        item = product_list_row(row, tz)
        item["liked_at"] = _dt(row["liked_at"], tz)
        item["is_sold"] = row["sold_at"] is not None or not row["is_available"]
        items.append(item)
    return items


class ProductDetailSerializer(ProductListSerializer):
    description = serializers.CharField(read_only=True)
    video_thumbnail_url = serializers.CharField(read_only=True)
    is_negotiable = serializers.BooleanField(read_only=True)
    auto_decline_below = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True)

    def to_representation(self, instance: Product) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["description"] = instance.description
        data["video_thumbnail_url"] = instance.video_thumbnail_url
        data["is_negotiable"] = instance.is_negotiable
        data["auto_decline_below"] = _money(instance.auto_decline_below)
        return data


class ProductSummarySerializer(serializers.Serializer):
    """The listing as other apps embed it (chats, offers, transactions, streams)."""

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    image_url = serializers.CharField(read_only=True, allow_null=True)
    is_available = serializers.BooleanField(read_only=True)

    def to_representation(self, instance: Product) -> dict[str, Any]:
        images = instance.image_urls or []
        return {
            "id": str(instance.pk),
            "title": instance.title,
            "price": _money(instance.price),
            "currency": instance.currency,
            "image_url": images[0] if images else None,
            "is_available": instance.is_available,
        }


def _own_media(url: str) -> str:
    if not is_own_media_url(url):
        raise serializers.ValidationError(
            _("Upload the file with POST /api/v1/media/ and use the URL it returns."), code="foreign_media_url"
        )
    return url


class ProductWriteSerializer(serializers.Serializer):
    """Create (all required fields) and PATCH (partial) input."""

    title = serializers.CharField(min_length=1, max_length=100, trim_whitespace=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    # What Stripe can charge in AED (settings.PAYMENT_MIN_AMOUNT .. PAYMENT_MAX_AMOUNT).
    price = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=Decimal("2.00"), max_value=Decimal("999999.99")
    )
    original_price = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000.00"),
        required=False,
        allow_null=True,
    )
    category = serializers.ChoiceField(choices=Category.choices)
    condition = serializers.ChoiceField(choices=Condition.choices)
    feed_type = serializers.ChoiceField(choices=FeedType.choices, default=FeedType.DISCOVER)
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    neighborhood = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    building_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    image_urls = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=MAX_IMAGES, required=False, default=list
    )
    video_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    video_thumbnail_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=MAX_TAG_LENGTH, trim_whitespace=True),
        max_length=MAX_TAGS,
        required=False,
        default=list,
    )
    # Checked against the category's table in validate() (catalog.attributes).
    attributes = serializers.JSONField(required=False)

    is_negotiable = serializers.BooleanField(required=False, default=True)
    auto_decline_below = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="Offers under this amount are declined at once, politely (below the price).",
    )

    def validate_image_urls(self, value: list[str]) -> list[str]:
        return [_own_media(url) for url in value]

    def validate_video_url(self, value: str) -> str:
        return _own_media(value) if value else value

    def validate_video_thumbnail_url(self, value: str) -> str:
        return _own_media(value) if value else value

    def validate_tags(self, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for tag in value:
            seen.setdefault(tag.lower(), tag)
        return list(seen.values())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Product | None = self.instance
        price = attrs.get("price", instance.price if instance else None)
        original = attrs.get("original_price", instance.original_price if instance else None)
        if original is not None and price is not None and original < price:
            raise serializers.ValidationError(
                {"original_price": _("The original price cannot be lower than the price.")},
                code="original_price_below_price",
            )
        floor = attrs.get("auto_decline_below", instance.auto_decline_below if instance else None)
        if floor is not None and price is not None and floor >= price:
            raise serializers.ValidationError(
                {"auto_decline_below": _("Offers can only be declined automatically below the price.")},
                code="auto_decline_not_below_price",
            )
        if self.partial and ("latitude" in attrs) != ("longitude" in attrs):
            missing = "longitude" if "latitude" in attrs else "latitude"
            raise serializers.ValidationError({missing: _("Send latitude and longitude together.")}, code="required")
        self._validate_attributes(attrs, instance)
        return attrs

    def _validate_attributes(self, attrs: dict[str, Any], instance: Product | None) -> None:
        """The attributes against the listing's category, also when only the category changes
        (each bad key is an error of its own: ``attributes.<key>``)."""
        if "attributes" not in attrs and not (instance is None or "category" in attrs):
            return
        category = attrs.get("category", instance.category if instance else None)
        if category is None:
            return
        values = attrs.get("attributes", instance.attributes if instance else {})
        cleaned, errors = attributes.validate(category, {} if values is None else values)
        if errors:
            raise serializers.ValidationError(errors, code="invalid")
        attrs["attributes"] = cleaned


class AttributeChoiceSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class AttributeSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["text", "number", "choice"])
    choices = AttributeChoiceSerializer(many=True, required=False)
    required = serializers.BooleanField()


class CategorySerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    attributes = AttributeSerializer(many=True)


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)


class MediaSerializer(serializers.Serializer):
    url = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class ProductSearchSerializer(serializers.Serializer):
    """Query parameters shared by the products list and the feeds (geo part)."""

    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
    radius_km = serializers.FloatField(required=False, min_value=0.01)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lat" in attrs) != ("lng" in attrs):
            missing = "lng" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: _("Send lat and lng together.")}, code="required")
        return attrs  # the radius is capped where it becomes metres (soukloop.geo.radius_metres)


class CommunityPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductListSerializer(many=True)
