from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from auctions.models import Auction, Bid
from payments.models import FailureReason

# The winner's sale as the winner and the host see it.
_PAYMENT_STATUS = {
    "pending": "awaiting_payment",
    "failed": "unpaid",
    "refunded": "refunded",
}


class LotPaymentSerializer(serializers.Serializer):
    """Only the winner and the host see it: the sale made at the hammer."""

    status = serializers.ChoiceField(choices=["awaiting_payment", "paid", "unpaid", "refunded", "cancelled"])
    transaction_id = serializers.UUIDField()
    pay_by = serializers.DateTimeField(allow_null=True)
    second_chance_offer_id = serializers.UUIDField(allow_null=True)


class AuctionCreateSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    starting_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1)
    duration_seconds = serializers.IntegerField(min_value=10, max_value=600)
    bid_increment = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False)
    sudden_death = serializers.BooleanField(required=False, default=False)
    reserve_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False)


class AuctionSerializer(serializers.ModelSerializer):
    product = serializers.UUIDField(source="product_id", read_only=True)
    stream = serializers.UUIDField(source="stream_id", read_only=True)
    leader = serializers.SerializerMethodField()
    winner = serializers.SerializerMethodField()
    reserve_met = serializers.BooleanField(read_only=True)
    payment = serializers.SerializerMethodField()

    class Meta:
        model = Auction
        fields = (
            "id",
            "stream",
            "status",
            "outcome",
            "product",
            "starting_price",
            "bid_increment",
            "current_price",
            "bid_count",
            "leader",
            "ends_at",
            "sudden_death",
            "reserve_met",
            "winner",
            "payment",
        )
        read_only_fields = fields

    @extend_schema_field(LotPaymentSerializer(allow_null=True))
    def get_payment(self, obj: Auction) -> dict[str, Any] | None:
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        sale_id = getattr(obj, "sale_id", None)
        if sale_id is None or user_id is None or user_id not in (obj.winner_id, obj.host_id):
            return None
        status = _PAYMENT_STATUS.get(getattr(obj, "sale_status", ""), "paid")
        if getattr(obj, "sale_failure_reason", "") == FailureReason.LOT_VOIDED:
            status = "cancelled"  # staff voided the lot: nothing is owed, and no strike
        return {
            "status": status,
            "transaction_id": sale_id,
            "pay_by": getattr(obj, "sale_pay_by", None),
            "second_chance_offer_id": obj.second_chance_offer_id if user_id == obj.host_id else None,
        }

    def get_leader(self, obj: Auction) -> str | None:
        return obj.leader.username if obj.leader else None

    def get_winner(self, obj: Auction) -> str | None:
        return obj.winner.username if obj.winner else None


class BidCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False)
    max_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False)

    def validate(self, attrs: dict) -> dict:
        if ("amount" in attrs) == ("max_amount" in attrs):
            raise serializers.ValidationError("Send either amount or max_amount.", code="invalid")
        return attrs


_BID_AMOUNT = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1)


def bid_frame_validate(frame: Mapping[str, Any]) -> dict[str, Decimal]:
    """``BidCreateSerializer``'s rules and errors for a socket's ``auction.bid`` frame, without
    building a serializer per frame: its field copies were a fifth of a busy socket process's
    event loop (bench/auctions.py, profiled). Raises ``serializers.ValidationError``."""
    present = [key for key in ("amount", "max_amount") if key in frame]
    if len(present) != 1:
        raise serializers.ValidationError("Send either amount or max_amount.", code="invalid")
    return {present[0]: _BID_AMOUNT.run_validation(frame[present[0]])}


class BidSerializer(serializers.ModelSerializer):
    bidder = serializers.CharField(source="bidder.username", read_only=True)

    class Meta:
        model = Bid
        fields = ("id", "bidder", "amount", "created_at")
        read_only_fields = fields


class SecondChanceCreateSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SecondChanceSerializer(serializers.Serializer):
    offer_id = serializers.UUIDField(source="offer.pk")
    conversation_id = serializers.UUIDField(source="offer.conversation_id")
    bidder = serializers.CharField(source="bidder.username", help_text="The bidder's public name.")
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    expires_at = serializers.DateTimeField(source="offer.expires_at")
