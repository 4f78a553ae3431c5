from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from soukloop.models import BaseModel


class Conversation(BaseModel):
    """One per buyer and listing. Unread counts and archive flags are kept per side."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buying_conversations")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="selling_conversations")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="conversations")
    # The conversation↔message cycle: Message points at its conversation (the real link);
    # this is a denormalised pointer to the newest one, nulled if that message goes.
    last_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    buyer_unread_count = models.PositiveIntegerField(default=0)
    seller_unread_count = models.PositiveIntegerField(default=0)
    buyer_archived = models.BooleanField(default=False)
    seller_archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_message_at", "-created_at"]
        indexes = [
            models.Index(fields=["buyer", "-last_message_at"], name="messaging_conv_buyer_idx"),
            models.Index(fields=["seller", "-last_message_at"], name="messaging_conv_seller_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "product"], name="messaging_conversation_buyer_product_unique"),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="messaging_conversation_buyer_not_seller"),
            models.CheckConstraint(condition=Q(buyer_unread_count__gte=0), name="messaging_conv_buyer_unread_nn"),
            models.CheckConstraint(condition=Q(seller_unread_count__gte=0), name="messaging_conv_seller_unread_nn"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} ↔ {self.seller_id} about {self.product_id}"


class MessageType(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    OFFER = "offer", _("Offer")
    SYSTEM = "system", _("System")


class Message(BaseModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # Null for system messages.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="messages_sent"
    )
    message_type = models.CharField(max_length=10, choices=MessageType.choices, default=MessageType.TEXT)
    content = models.TextField(blank=True)
    image_urls = models.JSONField(default=list, blank=True)
    offer_data = models.JSONField(null=True, blank=True)
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["conversation", "-created_at", "-id"], name="messaging_msg_conv_new_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(message_type__in=MessageType.values), name="messaging_message_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} in {self.conversation_id}"


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    COUNTERED = "countered", _("Countered")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_OFFER_STATUSES = (OfferStatus.PENDING, OfferStatus.COUNTERED)


class Offer(BaseModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="offers")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="offers")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers_made")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers_received")
    offered_price = models.DecimalField(max_digits=12, decimal_places=2)
    original_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="AED")
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING, db_index=True)
    counter_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # The platform's fee rate for a sale through this offer when it is not the listing's own: a
    # live lot offered to the next bidder (auctions' second chance) sells at the live-show rate,
    # as its winner would have. Null: the listing's rate.
    fee_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "status"], name="messaging_offer_product_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(offered_price__gt=0), name="messaging_offer_price_positive"),
            models.CheckConstraint(
                condition=Q(fee_percent__isnull=True) | Q(fee_percent__gte=0, fee_percent__lte=100),
                name="messaging_offer_fee_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(counter_price__isnull=True) | Q(counter_price__gt=0),
                name="messaging_offer_counter_price_positive",
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="messaging_offer_buyer_not_seller"),
            models.CheckConstraint(condition=Q(status__in=OfferStatus.values), name="messaging_offer_status_valid"),
            # One open offer per buyer per listing.
            models.UniqueConstraint(
                fields=["buyer", "product"],
                condition=Q(status__in=["pending", "countered"]),
                name="messaging_offer_one_open_per_buyer_product",
            ),
            # At most one accepted offer per listing.
            models.UniqueConstraint(
                fields=["product"], condition=Q(status="accepted"), name="messaging_offer_one_accepted_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offered_price} {self.currency} for {self.product_id} ({self.status})"

    @property
    def agreed_price(self):
        """The price both sides settled on: the seller's counter if the buyer accepted one,
        else the buyer's offer. Meaningful once the offer is ``accepted``."""
        return self.counter_price if self.counter_price is not None else self.offered_price


class ReportTargetType(models.TextChoices):
    USER = "user", _("User")
    PRODUCT = "product", _("Listing")
    MESSAGE = "message", _("Message")
    # Resolved by the app that owns reviews (registered with ``register_report_target``).
    REVIEW = "review", _("Review")


class ReportReason(models.TextChoices):
    SPAM = "spam", _("Spam")
    SCAM = "scam", _("Scam or fraud")
    PROHIBITED_ITEM = "prohibited_item", _("Prohibited item")
    COUNTERFEIT = "counterfeit", _("Counterfeit")
    HARASSMENT = "harassment", _("Harassment or abuse")
    INAPPROPRIATE = "inappropriate", _("Inappropriate content")
    OTHER = "other", _("Other")


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")


class Report(BaseModel):
    """Someone flags a user, a listing or a message; moderators work the queue in the admin.

    ``target_id`` keeps what was reported even if it is later deleted; ``reported_user`` is
    the person answerable for it (the user, the listing's seller, the message's sender), so
    moderators can see repeat offenders at a glance.
    """

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    target_type = models.CharField(max_length=10, choices=ReportTargetType.choices)
    target_id = models.UUIDField()
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_received"
    )
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    note = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_handled"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]  # the queue: oldest first
        indexes = [models.Index(fields=["status", "created_at"], name="messaging_report_queue_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_type__in=ReportTargetType.values), name="messaging_report_target_type_valid"
            ),
            models.CheckConstraint(condition=Q(reason__in=ReportReason.values), name="messaging_report_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="messaging_report_status_valid"),
            # Reporting the same thing twice while it is open does not grow the queue.
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(status="open"),
                name="messaging_report_one_open_per_reporter_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.target_type} {self.target_id} ({self.status})"
