from __future__ import annotations

import hmac
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import ranking
from catalog.locks import product_locked
from catalog.models import Product, ProductLike
from soukloop import events
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import Conflict, PermissionDenied
from soukloop.geo import make_point

# Fields an owner may change with PATCH (location comes in as latitude/longitude).
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "price",
        "original_price",
        "category",
        "condition",
        "feed_type",
        "neighborhood",
        "building_name",
        "image_urls",
        "video_url",
        "video_thumbnail_url",
        "tags",
        "is_negotiable",
        "auto_decline_below",
        "attributes",
    }
)

logger = logging.getLogger(__name__)


def _ensure_owner(*, product: Product, user: Any) -> None:
    if product.seller_id != getattr(user, "pk", None):
        raise PermissionDenied(_("Only the seller can change this listing."), code="not_product_owner")


def ensure_can_sell(*, user: Any) -> None:
    if not getattr(user, "can_sell", False):
        raise PermissionDenied(_("Only sellers can list items."), code="seller_role_required")


@transaction.atomic
def product_create(
    *,
    seller: Any,
    title: str,
    price: Decimal,
    category: str,
    condition: str,
    latitude: float,
    longitude: float,
    feed_type: str = "discover",
    description: str = "",
    original_price: Decimal | None = None,
    neighborhood: str = "",
    building_name: str = "",
    image_urls: list[str] | None = None,
    video_url: str = "",
    video_thumbnail_url: str = "",
    tags: list[str] | None = None,
    is_negotiable: bool = True,
    auto_decline_below: Decimal | None = None,
    attributes: dict[str, Any] | None = None,
) -> Product:
    """A new listing; ``attributes`` already checked against the category (the write
    serializer, catalog.attributes.validate)."""
    ensure_can_sell(user=seller)
    product = Product(
        seller=seller,
        title=title,
        description=description,
        price=price,
        original_price=original_price,
        category=category,
        condition=condition,
        feed_type=feed_type,
        location=make_point(latitude=latitude, longitude=longitude),
        neighborhood=neighborhood or seller.neighborhood or "",
        building_name=building_name or (seller.building_name if not neighborhood else "") or "",
        image_urls=list(image_urls or []),
        video_url=video_url,
        video_thumbnail_url=video_thumbnail_url,
        tags=list(tags or []),
        is_negotiable=is_negotiable,
        auto_decline_below=auto_decline_below,
        attributes=dict(attributes or {}),
    )
    # The Discover score is the service's business, not save()'s: a new listing starts with
    # its freshness alone; likes and views move it later (catalog.ranking).
    product.created_at = timezone.now()
    product.hot_score = ranking.hot_score(created_at=product.created_at, like_count=0, view_count=0)
    product.save(force_insert=True)
    logger.info("listing created", extra={"product_id": str(product.pk), "seller_id": str(seller.pk)})
    return product


@transaction.atomic
def product_update(*, product: Product, user: Any, data: dict[str, Any]) -> Product:
    """Owner-only change. Rows are locked so a concurrent sale cannot be overwritten."""
    _ensure_owner(product=product, user=user)
    locked = product_locked(product_id=product.pk)
    if not locked.is_available:
        raise Conflict(_("A sold listing cannot be changed."), code="product_sold")
    old_price = locked.price
    fields = []
    for name, value in data.items():
        if name in EDITABLE_FIELDS:
            setattr(locked, name, value)
            fields.append(name)
    if "latitude" in data and "longitude" in data:
        locked.location = make_point(latitude=data["latitude"], longitude=data["longitude"])
        fields.append("location")
    if fields:
        locked.save(update_fields=[*fields, "updated_at"])
        logger.info("listing changed", extra={"product_id": str(locked.pk), "fields": ",".join(sorted(fields))})
    if "price" in fields and is_price_drop(old=old_price, new=locked.price):
        # After commit, to notifications: everyone who liked it hears once a day (batched there).
        events.publish(
            "product.price_dropped",
            channel=None,
            data={
                "product_id": str(locked.pk),
                "seller_id": str(locked.seller_id),
                "title": locked.title,
                "old_price": f"{old_price:.2f}",
                "new_price": f"{locked.price:.2f}",
                "currency": locked.currency,
            },
        )
    return locked


def is_price_drop(*, old: Decimal, new: Decimal) -> bool:
    """A drop worth telling the people who liked a listing about: at least
    ``PRICE_DROP_MIN_PERCENT`` of the old price, or at least ``PRICE_DROP_MIN_AMOUNT``."""
    if new >= old or old <= 0:
        return False
    cut = old - new
    return cut * 100 >= old * Decimal(settings.PRICE_DROP_MIN_PERCENT) or cut >= Decimal(settings.PRICE_DROP_MIN_AMOUNT)


@transaction.atomic
def product_delete(*, product: Product, user: Any) -> bool:
    """Delete a listing; one that other apps' rows point at (conversations, offers,
    transactions: their keys are PROTECT) is hidden instead, so chat and payment history keep
    their item. Catalog asks no app above it: the database's PROTECT answers. Returns True
    when the row was really deleted."""
    _ensure_owner(product=product, user=user)
    try:
        with transaction.atomic():
            product.delete()
        logger.info("listing deleted", extra={"product_id": str(product.pk), "seller_id": str(user.pk)})
        return True
    except ProtectedError:
        pass  # history elsewhere: hide instead
    Product.objects.filter(pk=product.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), updated_at=timezone.now()
    )
    logger.info("listing hidden by its seller (chats or payments point at it)", extra={"product_id": str(product.pk)})
    return False


@transaction.atomic
def product_mark_sold(*, product: Product, sold_at: datetime | None = None) -> Product:
    """Take a listing off the market. Conditional UPDATE, so two callers cannot both sell it."""
    sold_at = sold_at or timezone.now()
    updated = Product.objects.filter(pk=product.pk, is_available=True).update(
        is_available=False, sold_at=sold_at, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(_("This item has already been sold."), code="product_sold")
    product.refresh_from_db(fields=["is_available", "sold_at", "updated_at"])
    logger.info("listing sold", extra={"product_id": str(product.pk)})
    return product


@transaction.atomic
def product_hide(*, product: Product, by: Any, reason: str) -> bool:
    """A moderator takes a listing off Souk Loop: gone from every list and from its detail
    (404 for everyone), kept for the chats and payments that point at it. Audited in the
    log with the moderator and the reason. False when it was already hidden."""
    hidden = bool(
        Product.objects.filter(pk=product.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now(), updated_at=timezone.now()
        )
    )
    if hidden:
        logger.info(
            "listing hidden by a moderator",
            extra={"product_id": str(product.pk), "moderator_id": str(getattr(by, "pk", "")), "reason": reason[:200]},
        )
    return hidden


@transaction.atomic
def product_relist(*, product: Product) -> Product:
    """Back on the market after its sale was fully refunded (payments calls this)."""
    Product.objects.filter(pk=product.pk, deleted_at__isnull=True).update(
        is_available=True, sold_at=None, updated_at=timezone.now()
    )
    product.refresh_from_db(fields=["is_available", "sold_at", "updated_at"])
    logger.info("listing back on the market after a refund", extra={"product_id": str(product.pk)})
    return product


def product_mark_sold_by_owner(*, product: Product, user: Any) -> Product:
    _ensure_owner(product=product, user=user)
    return product_mark_sold(product=product)


@transaction.atomic
def product_like(*, product: Product, user: Any) -> bool:
    """Idempotent; returns True if this call added the like. The unique constraint settles
    races: the loser's insert fails and the counter is not bumped twice."""
    try:
        with transaction.atomic():
            ProductLike.objects.create(product=product, user=user)
    except IntegrityError:
        return False
    Product.objects.filter(pk=product.pk).update(
        like_count=F("like_count") + 1,
        hot_score=ranking.hot_score_expression(created_at=product.created_at, like_delta=1),
    )
    return True


@transaction.atomic
def product_unlike(*, product: Product, user: Any) -> bool:
    deleted, _detail = ProductLike.objects.filter(product=product, user=user).delete()
    if not deleted:
        return False
    Product.objects.filter(pk=product.pk, like_count__gt=0).update(
        like_count=F("like_count") - 1,
        hot_score=ranking.hot_score_expression(created_at=product.created_at, like_delta=-1),
    )
    return True


def _first_view_in_window(*, product: Product, viewer: str) -> bool:
    """True the first time ``viewer`` (a user id, or a hash of the client address) opens this
    listing within ``PRODUCT_VIEW_WINDOW_SECONDS``: ``cache.add`` is atomic on Redis and locmem.
    The key holds a keyed hash, never the address. A cache outage counts nothing."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{product.pk}:{viewer}".encode(), "sha256").hexdigest()[:32]
    try:
        return cache.add(f"catalog:viewed:{digest}", 1, timeout=settings.PRODUCT_VIEW_WINDOW_SECONDS)
    except CACHE_UNAVAILABLE:
        return False


def product_register_view(*, product: Product, viewer: str) -> None:
    """A view counts once per viewer per listing per window (1,500 anonymous GETs from one
    address used to move a listing up Discover); the owner's own views never count. A counted
    view is a single UPDATE with F(), so concurrent reads never lose one."""
    if viewer == f"user:{product.seller_id}" or not _first_view_in_window(product=product, viewer=viewer):
        return
    Product.objects.filter(pk=product.pk).update(
        view_count=F("view_count") + 1,
        hot_score=ranking.hot_score_expression(created_at=product.created_at, view_delta=1),
    )
    product.view_count += 1
