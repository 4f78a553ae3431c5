"""Input serializers validate shapes; output serializers are lean and read-only (list hot
path: no per-row queries, everything comes from the selectors' select_related/annotations)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import (
    OPEN_OFFER_STATUSES,
    MessageType,
    Offer,
    OfferStatus,
    ReportReason,
    ReportTargetType,
)
from messaging.services import MAX_CONTENT_CHARS, MAX_IMAGES_PER_MESSAGE

_datetime = serializers.DateTimeField()


def _dt(value) -> str | None:
    return _datetime.to_representation(value) if value is not None else None


def user_summary(user) -> dict:
    return {
        "id": str(user.pk),
        "username": user.username,
        "full_name": user.full_name,
        "avatar_url": user.avatar_url,
        "is_verified": user.is_verified,
    }


def user_summary_with_rating(user) -> dict:
    """``user_summary`` plus ``rating``/``rating_count`` from the stats row (join
    ``<user>__stats`` in the selector, or it costs a query)."""
    stats = getattr(user, "stats", None)  # no row: RelatedObjectDoesNotExist is an AttributeError
    rating = None if stats is None or stats.rating is None else float(stats.rating)
    return {**user_summary(user), "rating": rating, "rating_count": stats.rating_count if stats else 0}


def product_summary(product) -> dict:
    return {
        "id": str(product.pk),
        "title": product.title,
        "price": f"{product.price:.2f}",
        "currency": product.currency,
        "image_url": product.image_urls[0] if product.image_urls else None,
        "is_available": product.is_available and product.deleted_at is None,
    }


# --- nested summaries -----------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)
    is_verified = serializers.BooleanField(read_only=True)


class RatedUserSummarySerializer(UserSummarySerializer):
    rating = serializers.FloatField(read_only=True, allow_null=True, help_text="Mean of published reviews.")
    rating_count = serializers.IntegerField(read_only=True)


class ProductSummarySerializer(serializers.Serializer):
    """The listing as the chat header shows it (catalog's own serializers are richer)."""

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    image_url = serializers.SerializerMethodField()
    is_available = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, product) -> str | None:
        return product.image_urls[0] if product.image_urls else None

    def get_is_available(self, product) -> bool:
        return product.is_available and product.deleted_at is None


class LastMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    sender_id = serializers.UUIDField(read_only=True, allow_null=True)
    message_type = serializers.ChoiceField(choices=MessageType.choices, read_only=True)
    content = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


# --- conversations --------------------------------------------------------------------------


class ConversationSerializer(serializers.Serializer):
    """A conversation from the caller's side (``unread_count``/``is_archived`` are theirs)."""

    id = serializers.UUIDField(read_only=True)
    product = ProductSummarySerializer(read_only=True)
    other_user = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField(help_text="The caller's side: buyer or seller.")
    last_message = LastMessageSerializer(read_only=True, allow_null=True)
    last_message_at = serializers.DateTimeField(read_only=True, allow_null=True)
    unread_count = serializers.IntegerField(read_only=True)
    is_archived = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def _me_id(self):
        return self.context["request"].user.pk

    def to_representation(self, conversation) -> dict:
        """Hand-rolled (the list hot path): the same fields as declared above, which stay
        the schema; DRF's nested field machinery cost ~1 ms a row here."""
        is_buyer = conversation.buyer_id == self._me_id()
        last = conversation.last_message
        return {
            "id": str(conversation.pk),
            "product": product_summary(conversation.product),
            "other_user": user_summary_with_rating(conversation.seller if is_buyer else conversation.buyer),
            "role": "buyer" if is_buyer else "seller",
            "last_message": None
            if last is None
            else {
                "id": str(last.pk),
                "sender_id": str(last.sender_id) if last.sender_id else None,
                "message_type": last.message_type,
                "content": last.content,
                "created_at": _dt(last.created_at),
            },
            "last_message_at": _dt(conversation.last_message_at),
            "unread_count": conversation.unread_count,
            "is_archived": conversation.is_archived,
            "created_at": _dt(conversation.created_at),
        }

    @extend_schema_field(RatedUserSummarySerializer)
    def get_other_user(self, conversation) -> dict:
        other = conversation.seller if conversation.buyer_id == self._me_id() else conversation.buyer
        return user_summary_with_rating(other)

    @extend_schema_field(serializers.ChoiceField(choices=["buyer", "seller"]))
    def get_role(self, conversation) -> str:
        return "buyer" if conversation.buyer_id == self._me_id() else "seller"


class ConversationCreateSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()


class ConversationListQuerySerializer(serializers.Serializer):
    archived = serializers.BooleanField(
        required=False, default=False, help_text="true: only the conversations I archived; default: the others."
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    conversation_id = serializers.UUIDField(read_only=True)
    sender = UserSummarySerializer(read_only=True, allow_null=True, help_text="null for system messages")
    is_mine = serializers.SerializerMethodField()
    message_type = serializers.ChoiceField(choices=MessageType.choices, read_only=True)
    content = serializers.CharField(read_only=True)
    image_urls = serializers.ListField(child=serializers.URLField(), read_only=True)
    offer_data = serializers.JSONField(read_only=True, allow_null=True)
    is_read = serializers.BooleanField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_is_mine(self, message) -> bool:
        return message.sender_id is not None and message.sender_id == self.context["request"].user.pk

    def to_representation(self, message) -> dict:
        """Hand-rolled like ConversationSerializer's; the declared fields are the schema."""
        return {
            "id": str(message.pk),
            "conversation_id": str(message.conversation_id),
            "sender": user_summary(message.sender) if message.sender_id else None,
            "is_mine": self.get_is_mine(message),
            "message_type": message.message_type,
            "content": message.content,
            "image_urls": list(message.image_urls or []),
            "offer_data": message.offer_data,
            "is_read": message.is_read,
            "read_at": _dt(message.read_at),
            "created_at": _dt(message.created_at),
        }


class MessageCreateSerializer(serializers.Serializer):
    # Clients send text or image; the service refuses offer/system (one enum in the schema).
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TEXT)
    content = serializers.CharField(required=False, allow_blank=True, max_length=MAX_CONTENT_CHARS, default="")
    image_urls = serializers.ListField(
        child=serializers.URLField(max_length=500), required=False, default=list, max_length=MAX_IMAGES_PER_MESSAGE
    )


class ReadResultSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField(help_text="How many of the other side's messages became read.")
    unread_count = serializers.IntegerField()


# --- offers ---------------------------------------------------------------------------------


def effective_status(offer: Offer) -> str:
    """An open offer past ``expires_at`` reads as expired before ``expire_offers`` runs."""
    annotated = getattr(offer, "effective_status", None)
    if annotated:
        return annotated
    if offer.status in OPEN_OFFER_STATUSES and offer.expires_at <= timezone.now():
        return OfferStatus.EXPIRED
    return offer.status


class OfferSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    conversation_id = serializers.UUIDField(read_only=True)
    product = ProductSummarySerializer(read_only=True)
    buyer = UserSummarySerializer(read_only=True)
    seller = UserSummarySerializer(read_only=True)
    offered_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    counter_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True)
    original_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    agreed_price = serializers.SerializerMethodField()
    currency = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    message = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    responded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.ChoiceField(choices=OfferStatus.choices))
    def get_status(self, offer) -> str:
        return effective_status(offer)

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_agreed_price(self, offer) -> str | None:
        if effective_status(offer) != OfferStatus.ACCEPTED:
            return None
        return f"{offer.agreed_price:.2f}"


class OfferCreateSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    offered_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class OfferCounterSerializer(serializers.Serializer):
    counter_price = serializers.DecimalField(max_digits=12, decimal_places=2)


class OfferListQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["buyer", "seller"], required=False)
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False)


# --- reports --------------------------------------------------------------------------------


class ReportCreateSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=ReportTargetType.choices)
    target_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    target_type = serializers.CharField(read_only=True)
    target_id = serializers.UUIDField(read_only=True)
    reason = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
