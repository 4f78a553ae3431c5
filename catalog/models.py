from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.search import SearchVectorField
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from catalog import textsearch
from soukloop.models import BaseModel


class Category(models.TextChoices):
    TRADING_CARDS = "trading_cards", _("Trading cards")
    MENS_FASHION = "mens_fashion", _("Men's fashion")
    SNEAKERS = "sneakers", _("Sneakers")
    SPORTS_CARDS = "sports_cards", _("Sports cards")
    COLLECTIBLES = "collectibles", _("Collectibles")
    ELECTRONICS = "electronics", _("Electronics")
    HOME_DECOR = "home_decor", _("Home decor")
    BEAUTY = "beauty", _("Beauty")
    KIDS_BABY = "kids_baby", _("Kids & baby")
    FURNITURE = "furniture", _("Furniture")
    BOOKS = "books", _("Books")
    OTHER = "other", _("Other")


class Condition(models.TextChoices):
    NEW = "new", _("New")
    LIKE_NEW = "like_new", _("Like new")
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")


class FeedType(models.TextChoices):
    DISCOVER = "discover", _("Discover")
    COMMUNITY = "community", _("Community")


class Product(BaseModel):
    """A listing. Money in AED with 2 places."""

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    original_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="AED")
    category = models.CharField(max_length=20, choices=Category.choices)
    condition = models.CharField(max_length=10, choices=Condition.choices)
    feed_type = models.CharField(max_length=10, choices=FeedType.choices, default=FeedType.DISCOVER)
    location = models.PointField(srid=4326, geography=True, null=True, blank=True)
    neighborhood = models.CharField(max_length=100, blank=True)
    building_name = models.CharField(max_length=100, blank=True)
    is_available = models.BooleanField(default=True)
    view_count = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    image_urls = models.JSONField(default=list, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    video_thumbnail_url = models.URLField(max_length=500, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Firm prices: offers on a non-negotiable listing are refused (409 price_firm); offers
    # under ``auto_decline_below`` are declined at once (messaging.services.offer_create).
    is_negotiable = models.BooleanField(default=True, db_default=True)  # bulk COPY loads omit it
    auto_decline_below = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    sold_at = models.DateTimeField(null=True, blank=True)
    # Deleting a listing that has conversations or transactions hides it instead.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Discover rank (catalog.ranking): freshness in half-lives plus log2 of popularity.
    # Independent of "now", so it can be stored, indexed and paginated with a keyset.
    hot_score = models.FloatField(default=0.0, editable=False)
    # Kept by a PostgreSQL trigger (migration 0002): title A, tags B, description C.
    # Stays NULL on SpatiaLite, where `q` falls back to icontains.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # Item attributes, validated against the category's table (catalog.attributes).
    attributes = models.JSONField(default=dict, blank=True)
    # The listing's words normalised for both languages (catalog.textsearch): "title terms |
    # tags terms | description terms". Kept by save(); the trigger feeds it to search_vector
    # (soukloop_simple, migration 0005); SpatiaLite matches it with LIKE.
    search_terms = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "feed_type"], name="catalog_product_cat_feed_idx"),
            models.Index(fields=["is_available"], name="catalog_product_available_idx"),
            models.Index(fields=["feed_type", "is_available", "-created_at"], name="catalog_product_feed_new_idx"),
            # The discover feed's keyset: WHERE visible discover ORDER BY hot_score DESC, id DESC.
            models.Index(
                fields=["-hot_score", "-id"],
                condition=Q(feed_type="discover", is_available=True, deleted_at__isnull=True),
                name="catalog_product_discover_idx",
            ),
            models.Index(fields=["seller", "-created_at"], name="catalog_product_seller_new_idx"),
            # A seller's best-ranked Discover listings (the personal feed's affinity sellers,
            # discovery.feed._seller_tops): one short probe per seller.
            models.Index(
                fields=["seller", "-hot_score", "-id"],
                condition=Q(feed_type="discover", is_available=True, deleted_at__isnull=True),
                name="catalog_seller_discover_idx",
            ),
            # Text search and attribute filters newest first (catalog.selectors.TopMatches,
            # NewestWalk): an index-only walk of the live listings newest first that tests each
            # one's search_vector / attributes (and category, price, condition, feed type) in
            # the index (PostgreSQL; INCLUDE is left out elsewhere), so a common word or value
            # stops after the page's worth of matches without visiting the table.
            models.Index(
                fields=["-created_at", "-id"],
                include=["search_vector", "category", "attributes", "price", "condition", "feed_type"],
                condition=Q(is_available=True, deleted_at__isnull=True),
                name="catalog_product_live_new_idx",
            ),
            # The same walk within one category (NewestWalk with a category, as most attribute
            # filters come): only that category's entries are read, so a value on 1 in 200 of a
            # category's listings fills its page from ~4,000 entries instead of falling back to
            # the attributes' GIN (catalog.selectors.walk_cutoff).
            models.Index(
                fields=["category", "-created_at", "-id"],
                include=["attributes", "price", "condition", "feed_type"],
                condition=Q(is_available=True, deleted_at__isnull=True),
                name="catalog_live_cat_new_idx",
            ),
            # The community feed's first tiers: same neighbourhood / building, case-insensitive.
            models.Index(
                Upper("neighborhood"),
                Upper("building_name"),
                condition=Q(feed_type="community", is_available=True, deleted_at__isnull=True),
                name="catalog_product_community_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_product_price_positive"),
            models.CheckConstraint(
                condition=Q(original_price__isnull=True) | Q(original_price__gte=0),
                name="catalog_product_original_price_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(auto_decline_below__isnull=True)
                | Q(auto_decline_below__gt=0, auto_decline_below__lt=F("price")),
                name="catalog_product_auto_decline_below_price",
            ),
            models.CheckConstraint(condition=Q(view_count__gte=0), name="catalog_product_view_count_non_negative"),
            models.CheckConstraint(condition=Q(like_count__gte=0), name="catalog_product_like_count_non_negative"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="catalog_product_category_valid"),
            models.CheckConstraint(condition=Q(condition__in=Condition.values), name="catalog_product_condition_valid"),
            models.CheckConstraint(condition=Q(feed_type__in=FeedType.values), name="catalog_product_feed_type_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The search terms follow the text wherever it is changed (services, admin).
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"title", "description", "tags"} & set(update_fields):
            self.search_terms = search_terms_for(title=self.title, tags=self.tags, description=self.description)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_terms"}
        super().save(*args, **kwargs)


def search_terms_for(*, title: str, tags: Any, description: str) -> str:
    """What ``Product.search_terms`` holds for this text (seed_demo's COPY calls it too)."""
    tag_list = [str(tag) for tag in tags] if isinstance(tags, list) else []
    return " | ".join(
        (textsearch.document(title), textsearch.document(tag_list), textsearch.document(description or ""))
    )


class ProductLike(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_likes")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="catalog_like_unique")]
        indexes = [
            # GET /me/likes/ (newest like first) and the price-drop fan-out's keyset walk.
            models.Index(fields=["user", "-created_at", "-id"], name="catalog_like_user_new_idx"),
            models.Index(fields=["product", "id"], name="catalog_like_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.product_id}"
