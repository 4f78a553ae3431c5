"""What Souk Loop tells people: an inbox row per notification, and one delivery per channel
(push to each device, SMS, email) that a worker sends, retries and, after the last attempt,
leaves as a dead letter for the admin."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", _("Web")


class Kind(models.TextChoices):
    MESSAGE = "message", _("New message")
    OFFER = "offer", _("Offer received, countered, accepted or declined")
    OFFER_EXPIRING = "offer_expiring", _("Offer expiring soon")
    CHECKOUT_PAID = "checkout_paid", _("Item paid for")
    RECEIPT = "receipt", _("Payment receipt")
    PAYOUT_RELEASED = "payout_released", _("Payout released")
    CLAIM = "claim", _("Buyer protection claim")
    REVIEW = "review", _("Review received")
    VERIFICATION = "verification", _("Verification decided")
    FOLLOWED_LIVE = "followed_live", _("A seller you follow is live")
    SAVED_SEARCH = "saved_search", _("New listings for a saved search")
    PRICE_DROP = "price_drop", _("Price drop on a liked item")
    OUTBID = "outbid", _("Outbid on an auction lot")
    AUCTION_WON = "auction_won", _("Auction lot won")
    AUCTION_UNPAID = "auction_unpaid", _("A won auction lot left unpaid")
    AUCTION_VOIDED = "auction_voided", _("A won auction lot voided by staff")


class Channel(models.TextChoices):
    PUSH = "push", _("Push")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    IN_APP = "in_app", _("In the app")


# What each kind uses unless the person changed it (GET/PATCH /notifications/preferences/).
_PUSH_AND_INBOX = frozenset({Channel.PUSH.value, Channel.IN_APP.value})
DEFAULT_CHANNELS: dict[str, frozenset[str]] = dict.fromkeys(Kind.values, _PUSH_AND_INBOX) | {
    Kind.CHECKOUT_PAID.value: _PUSH_AND_INBOX | {Channel.EMAIL.value},
    Kind.PAYOUT_RELEASED.value: _PUSH_AND_INBOX | {Channel.EMAIL.value},
    Kind.RECEIPT.value: _PUSH_AND_INBOX | {Channel.EMAIL.value},
}


class Device(models.Model):
    """A phone or browser that receives pushes; a token belongs to one account at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    token = models.CharField(max_length=512, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user"], name="notif_device_user_idx")]

    def __str__(self) -> str:
        return f"{self.platform} device of {self.user_id}"


class Notification(models.Model):
    """One row of a person's inbox. ``dedupe_key`` makes a repeated event (a retried task, a
    replayed webhook) create it once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    in_inbox = models.BooleanField(default=True, help_text=_("False when the person turned the in-app channel off."))
    is_read = models.BooleanField(default=False)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notif_inbox_idx"),
            models.Index(fields=["user"], condition=Q(is_read=False, in_inbox=True), name="notif_unread_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], condition=~Q(dedupe_key=""), name="notif_once_per_dedupe_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class Preferences(models.Model):
    """Per kind and channel switches (only the ones changed from ``DEFAULT_CHANNELS``) and
    quiet hours in the person's time zone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_preferences"
    )
    channels = models.JSONField(default=dict, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Dubai")

    class Meta:
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead (every attempt failed)")
    DROPPED = "dropped", _("Dropped (device gone)")


class Delivery(models.Model):
    """One send of a notification on one channel (one per device for push). The outbox: made
    in the same transaction as the notification, enqueued after commit, enqueued again by
    ``flush_outbox`` if the broker was down."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True, help_text=_("Held until then (quiet hours, back-off)."))
    last_error = models.CharField(max_length=200, blank=True)
    provider_id = models.CharField(max_length=200, blank=True, db_index=True)
    provider_status = models.CharField(
        max_length=20, blank=True, help_text=_("What the provider last reported (Twilio: delivered, undelivered...).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(
                fields=["not_before", "created_at"],
                condition=Q(status="pending"),
                name="notif_delivery_pending_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="notif_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery {self.status}"
