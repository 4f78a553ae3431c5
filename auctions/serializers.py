from __future__ import annotations

from rest_framework import serializers

from auctions.models import Auction, Bid


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
        )
        read_only_fields = fields

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


class BidSerializer(serializers.ModelSerializer):
    bidder = serializers.CharField(source="bidder.username", read_only=True)

    class Meta:
        model = Bid
        fields = ("id", "bidder", "amount", "created_at")
        read_only_fields = fields
