from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import FeedType
from payments.models import FailureReason, Transaction


class FeesQuerySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    feed_type = serializers.ChoiceField(choices=FeedType.choices, default=FeedType.DISCOVER)


class FeesSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    platform_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    seller_payout = serializers.DecimalField(max_digits=12, decimal_places=2)
    fee_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    currency = serializers.CharField()


class OnboardingLinkSerializer(serializers.Serializer):
    url = serializers.URLField()


class ConnectStatusSerializer(serializers.Serializer):
    charges_enabled = serializers.BooleanField()
    payouts_enabled = serializers.BooleanField()
    details_submitted = serializers.BooleanField()
    account_created = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    requirements_due = serializers.ListField(child=serializers.CharField())
    payouts_waiting_count = serializers.IntegerField()
    payouts_waiting_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    payouts_waiting_reason = serializers.CharField(
        help_text="Why held payouts cannot be released yet (e.g. seller_not_onboarded); empty if nothing blocks them."
    )


class CheckoutInputSerializer(serializers.Serializer):
    product_id = serializers.UUIDField(required=False)
    offer_id = serializers.UUIDField(required=False)
    auction_id = serializers.UUIDField(required=False, help_text="A lot you won in a live show's auction.")

    def validate(self, attrs):
        if sum(key in attrs for key in ("product_id", "offer_id", "auction_id")) != 1:
            raise serializers.ValidationError(
                _("Give one of product_id, offer_id or auction_id."), code="product_or_offer_required"
            )
        return attrs


class CheckoutSerializer(serializers.Serializer):
    transaction_id = serializers.UUIDField(source="transaction.id")
    client_secret = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, source="transaction.amount")
    platform_fee = serializers.DecimalField(max_digits=12, decimal_places=2, source="transaction.platform_fee")
    seller_payout = serializers.DecimalField(max_digits=12, decimal_places=2, source="transaction.seller_payout")
    currency = serializers.CharField(source="transaction.currency")


class TransactionPartySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()


class TransactionProductSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    image_url = serializers.SerializerMethodField()

    def get_image_url(self, product) -> str | None:
        return product.image_urls[0] if product.image_urls else None


class TransactionSerializer(serializers.ModelSerializer):
    product = TransactionProductSerializer(read_only=True)
    buyer = TransactionPartySerializer(read_only=True)
    seller = TransactionPartySerializer(read_only=True)
    offer_id = serializers.UUIDField(read_only=True, allow_null=True)
    # "" until a payment fails: read-only model fields lose allow_blank, so the schema would
    # promise an enum value that "" is not (a generated client then refuses the response).
    failure_reason = serializers.ChoiceField(choices=FailureReason.choices, allow_blank=True, read_only=True)
    disputed = serializers.SerializerMethodField()
    payout_release_due_at = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id",
            "status",
            "payout_status",
            "payout_blocked_reason",
            "amount",
            "platform_fee",
            "seller_payout",
            "currency",
            "feed_type",
            "product",
            "buyer",
            "seller",
            "offer_id",
            "stripe_payment_intent_id",
            "failure_reason",
            "last_payment_error",
            "amount_refunded",
            "amount_transferred",
            "amount_reversed",
            "disputed",
            "created_at",
            "completed_at",
            "receipt_confirmed_at",
            "payout_release_due_at",
            "payout_released_at",
            "refunded_at",
        ]
        read_only_fields = fields

    def get_disputed(self, tx: Transaction) -> bool:
        return tx.disputed_at is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_payout_release_due_at(self, tx: Transaction) -> str | None:
        """When the buyer-protection hold ends if the buyer does not confirm receipt first."""
        if tx.completed_at is None or tx.payout_status != "held":
            return None
        return serializers.DateTimeField().to_representation(
            tx.completed_at + timedelta(days=settings.PAYOUT_HOLD_DAYS)
        )


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Default: all that is left.",
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    relist = serializers.BooleanField(required=False, default=True)
