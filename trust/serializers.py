"""Input and output shapes of the claims and reviews API."""

from __future__ import annotations

from rest_framework import serializers

from accounts.serializers import UTCDateTimeField
from soukloop.storage import is_own_media_url
from trust.models import Claim, ClaimReason, Review, SellerAction
from trust.services import MAX_CLAIM_IMAGES


def _own_media(url: str) -> str:
    if not is_own_media_url(url):
        raise serializers.ValidationError(
            "Upload the file with POST /api/v1/media/ and use the URL it returns.", code="foreign_media_url"
        )
    return url


class _ImagesMixin(serializers.Serializer):
    image_urls = serializers.ListField(
        child=serializers.CharField(max_length=2048), required=False, default=list, max_length=MAX_CLAIM_IMAGES
    )

    def validate_image_urls(self, value: list[str]) -> list[str]:
        return [_own_media(url) for url in value]


class ClaimCreateSerializer(_ImagesMixin):
    reason = serializers.ChoiceField(choices=ClaimReason.choices)
    description = serializers.CharField(max_length=2000, trim_whitespace=True)


class ClaimRespondSerializer(_ImagesMixin):
    action = serializers.ChoiceField(choices=SellerAction.choices)
    statement = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        if attrs["action"] == SellerAction.PROPOSE_PARTIAL and attrs.get("amount") is None:
            raise serializers.ValidationError({"amount": "Say how much you propose to refund."}, code="required")
        return attrs


class ClaimSerializer(serializers.ModelSerializer):
    transaction = serializers.UUIDField(source="transaction_id", read_only=True)
    role = serializers.SerializerMethodField(help_text="The caller's side: buyer or seller.")
    seller_response = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    decided_at = UTCDateTimeField(read_only=True)
    created_at = UTCDateTimeField(read_only=True)
    updated_at = UTCDateTimeField(read_only=True)
    escalates_at = UTCDateTimeField(read_only=True)
    escalated_at = UTCDateTimeField(read_only=True)
    closed_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "transaction",
            "role",
            "reason",
            "description",
            "image_urls",
            "status",
            "seller_response",
            "proposed_refund_amount",
            "decision",
            "decided_at",
            "escalates_at",
            "escalated_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_role(self, claim: Claim) -> str:
        request = self.context.get("request")
        return "seller" if request is not None and request.user.pk == claim.seller_id else "buyer"

    def get_seller_response(self, claim: Claim) -> dict | None:
        if not claim.seller_action:
            return None
        return {
            "action": claim.seller_action,
            "statement": claim.seller_response,
            "image_urls": claim.seller_image_urls,
            "responded_at": UTCDateTimeField().to_representation(claim.responded_at) if claim.responded_at else None,
        }

    def get_decision(self, claim: Claim) -> dict | None:
        if not claim.decision:
            return None
        return {
            "outcome": claim.decision,
            "refund_amount": None if claim.refund_amount is None else f"{claim.refund_amount:.2f}",
            "reason": claim.decision_reason,
            "by_moderator": claim.decided_by_id is not None,
        }


class ReviewCreateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReviewReplySerializer(serializers.Serializer):
    reply = serializers.CharField(max_length=1000)


class ReviewCreatedSerializer(serializers.ModelSerializer):
    transaction = serializers.UUIDField(source="transaction_id", read_only=True)
    is_published = serializers.SerializerMethodField()
    created_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "transaction", "rating", "comment", "role", "is_published", "created_at"]
        read_only_fields = fields

    def get_is_published(self, review: Review) -> bool:
        return review.published_at is not None


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    reply = serializers.SerializerMethodField()
    created_at = UTCDateTimeField(read_only=True)
    published_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "rating", "comment", "role", "reviewer", "product", "reply", "created_at", "published_at"]
        read_only_fields = fields

    def get_reviewer(self, review: Review) -> dict:
        u = review.reviewer
        return {"id": str(u.pk), "username": u.username, "full_name": u.full_name, "avatar_url": u.avatar_url}

    def get_product(self, review: Review) -> dict:
        p = review.transaction.product
        return {"id": str(p.pk), "title": p.title, "image_url": p.image_urls[0] if p.image_urls else None}

    def get_reply(self, review: Review) -> dict | None:
        if review.replied_at is None:
            return None
        return {"text": review.reply, "created_at": UTCDateTimeField().to_representation(review.replied_at)}
