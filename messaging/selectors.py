"""Reads for messaging: always from one participant's side, in a constant number of queries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.fields import BooleanField, CharField, PositiveIntegerField
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.holds import Hold
from messaging.models import OPEN_OFFER_STATUSES, Conversation, Message, Offer, OfferStatus
from soukloop.errors import NotFound


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


# Only what the lean serializers show: no geography columns to parse, no long descriptions.
USER_SUMMARY_FIELDS = ("id", "username", "full_name", "avatar_url", "is_verified")
PRODUCT_SUMMARY_FIELDS = ("id", "title", "price", "currency", "image_urls", "is_available", "deleted_at", "seller_id")


def _related_only(prefix: str, fields: tuple[str, ...]) -> list[str]:
    return [f"{prefix}__{name}" for name in fields]


def conversations_for_user(*, user: User, archived: bool | None = None) -> QuerySet[Conversation]:
    """The caller's conversations, newest activity first, annotated with their side's
    ``unread_count`` and ``is_archived``; ``archived`` filters on the caller's flag."""
    qs = (
        Conversation.objects.filter(Q(buyer=user) | Q(seller=user))
        .select_related("buyer", "seller", "buyer__stats", "seller__stats", "product", "last_message")
        .only(
            "id",
            "created_at",
            "buyer_id",
            "seller_id",
            "product_id",
            "last_message_id",
            "last_message_at",
            "buyer_unread_count",
            "seller_unread_count",
            "buyer_archived",
            "seller_archived",
            *_related_only("buyer", USER_SUMMARY_FIELDS),
            *_related_only("seller", USER_SUMMARY_FIELDS),
            *_related_only("buyer__stats", ("rating", "rating_count")),
            *_related_only("seller__stats", ("rating", "rating_count")),
            *_related_only("product", PRODUCT_SUMMARY_FIELDS),
            *_related_only("last_message", ("id", "sender_id", "message_type", "content", "created_at")),
        )
        .annotate(
            unread_count=Case(
                When(buyer=user, then=F("buyer_unread_count")),
                default=F("seller_unread_count"),
                output_field=PositiveIntegerField(),
            ),
            is_archived=Case(
                When(buyer=user, then=F("buyer_archived")),
                default=F("seller_archived"),
                output_field=BooleanField(),
            ),
            activity_at=Coalesce("last_message_at", "created_at"),
        )
        .order_by("-activity_at", "-id")
    )
    if archived is not None:
        qs = qs.filter(is_archived=archived)
    return qs


def _one_or_404(qs: QuerySet, pk: Any, error: NotFound) -> Any:
    """One row of the caller's own ``qs``; anyone else's, none, or a malformed id → 404."""
    uid = as_uuid(pk)
    row = qs.filter(pk=uid).first() if uid else None
    if row is None:
        raise error
    return row


def conversation_for_participant(*, user: User, conversation_id: Any) -> Conversation:
    """One of the caller's conversations; anyone else's (or none) → 404, never 403."""
    error = NotFound(_("Conversation not found."), code="conversation_not_found")
    return _one_or_404(conversations_for_user(user=user), conversation_id, error)


def messages_for_conversation(*, conversation: Conversation) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("sender")
        .defer(*_related_only("sender", ("location", "password", "bio")))
        .order_by("-created_at", "-id")
    )


def _effective_status() -> Case:
    """An open offer past its ``expires_at`` reads as ``expired`` before the command runs."""
    return Case(
        When(status__in=OPEN_OFFER_STATUSES, expires_at__lte=timezone.now(), then=Value(OfferStatus.EXPIRED.value)),
        default=F("status"),
        output_field=CharField(),
    )


def offers_for_user(*, user: User, role: str | None = None, status: str | None = None) -> QuerySet[Offer]:
    """Offers the caller made (``role=buyer``), received (``role=seller``) or both."""
    if role == "buyer":
        qs = Offer.objects.filter(buyer=user)
    elif role == "seller":
        qs = Offer.objects.filter(seller=user)
    else:
        qs = Offer.objects.filter(Q(buyer=user) | Q(seller=user))
    qs = (
        qs.select_related("product", "buyer", "seller")
        .only(
            *[f.name for f in Offer._meta.concrete_fields],
            *_related_only("product", PRODUCT_SUMMARY_FIELDS),
            *_related_only("buyer", USER_SUMMARY_FIELDS),
            *_related_only("seller", USER_SUMMARY_FIELDS),
        )
        .annotate(effective_status=_effective_status())
    )
    if status:
        qs = qs.filter(effective_status=status)
    return qs.order_by("-created_at", "-id")


def offer_for_participant(*, user: User, offer_id: Any) -> Offer:
    return _one_or_404(offers_for_user(user=user), offer_id, NotFound(_("Offer not found."), code="offer_not_found"))


def accepted_offer_hold_cutoff(*, now: datetime) -> datetime:
    """Accepted offers answered after this still hold their listing: the one place the
    ``ACCEPTED_OFFER_HOLD_HOURS`` window is computed."""
    return now - timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS)


def accepted_offer_hold(product_id: Any, now: datetime) -> Hold | None:
    """The hold source for ``catalog.holds``: an accepted offer within its hold window."""
    offer = (
        Offer.objects.filter(
            product_id=product_id, status=OfferStatus.ACCEPTED, responded_at__gt=accepted_offer_hold_cutoff(now=now)
        )
        .only("pk", "buyer_id", "responded_at")
        .first()
    )
    if offer is None or offer.responded_at is None:
        return None
    until = offer.responded_at + timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS)
    return Hold(kind="accepted_offer", buyer_id=offer.buyer_id, until=until, ref=offer.pk)


def accepted_offers_past_hold(*, now: datetime) -> list[tuple[Any, Any]]:
    """``(offer id, product id)`` of accepted offers whose hold window has passed, oldest first
    (payments lapses those left unpaid)."""
    return list(
        Offer.objects.filter(status=OfferStatus.ACCEPTED, responded_at__lte=accepted_offer_hold_cutoff(now=now))
        .order_by("responded_at", "id")
        .values_list("pk", "product_id")
    )


def offers_expiring_between(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Open offers whose ``expires_at`` falls in ``[start, end)``, with who must answer: the
    seller of a pending offer, the buyer of a countered one."""
    rows = (
        Offer.objects.filter(status__in=OPEN_OFFER_STATUSES, expires_at__gte=start, expires_at__lt=end)
        .select_related("product")
        .only("pk", "status", "buyer_id", "seller_id", "expires_at", "conversation_id", "product__title")
    )
    return [
        {
            "offer_id": str(offer.pk),
            "conversation_id": str(offer.conversation_id),
            "answerer_id": offer.seller_id if offer.status == OfferStatus.PENDING else offer.buyer_id,
            "product_title": offer.product.title,
            "expires_at": offer.expires_at,
        }
        for offer in rows
    ]
