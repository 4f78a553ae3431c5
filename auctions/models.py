"""Live auction lots and their bids."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from soukloop.models import BaseModel


class AuctionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Closed")
    VOIDED = "voided", _("Voided")


class AuctionOutcome(models.TextChoices):
    SOLD = "sold", _("Sold")
    NO_SALE = "no_sale", _("No sale")


class Auction(BaseModel):
    """One lot: a listing put up for bids during a live stream."""

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="auctions")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="auctions")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_auctions")
    status = models.CharField(max_length=10, choices=AuctionStatus.choices, default=AuctionStatus.SCHEDULED)
    outcome = models.CharField(max_length=10, choices=AuctionOutcome.choices, blank=True)
    starting_price = models.DecimalField(max_digits=12, decimal_places=2)
    bid_increment = models.DecimalField(max_digits=12, decimal_places=2)
    reserve_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    duration_seconds = models.PositiveIntegerField()
    sudden_death = models.BooleanField(default=False)
    current_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The leader's proxy ceiling: never shown to anyone.
    leader_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    bid_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="won_auctions"
    )
    # The host's offer of the lot to the next buyer (runner-up, or the high bidder under the
    # reserve), through the offers of messaging: once per lot.
    second_chance_offer = models.ForeignKey(
        "messaging.Offer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Not stored: set on the lot services.void_lot returns, the status it found under the lock.
    voided_from: str | None = None

    class Meta:
        ordering = ("created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["stream"], condition=Q(status="running"), name="auctions_one_running_lot_per_stream"
            ),
            models.CheckConstraint(condition=Q(status__in=AuctionStatus.values), name="auctions_auction_status_valid"),
            models.CheckConstraint(condition=Q(starting_price__gt=0), name="auctions_auction_starting_price_positive"),
            models.CheckConstraint(condition=Q(bid_increment__gt=0), name="auctions_auction_increment_positive"),
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=10, duration_seconds__lte=600), name="auctions_auction_duration_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Lot {self.pk} ({self.status})"

    @property
    def reserve_met(self) -> bool:
        if self.reserve_price is None:
            return True
        return self.current_price is not None and self.current_price >= self.reserve_price


class Bid(BaseModel):
    """An accepted bid: ``amount`` is the price it set (proxy moves included), ``max_amount`` the
    bidder's ceiling."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="bids")
    bidder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auction_bids")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    max_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["auction", "-created_at"], name="auctions_bid_auction_new_idx")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.auction_id}"
