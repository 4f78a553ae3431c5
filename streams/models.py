from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Category
from soukloop.models import BaseModel


class StreamStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")


class StreamType(models.TextChoices):
    LIVE = "live", _("Live")
    RECORDED = "recorded", _("Recorded")


class Stream(BaseModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="streams")
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, db_index=True)
    status = models.CharField(
        max_length=10, choices=StreamStatus.choices, default=StreamStatus.SCHEDULED, db_index=True
    )
    stream_type = models.CharField(max_length=10, choices=StreamType.choices, default=StreamType.LIVE)
    rtmp_url = models.CharField(max_length=500, blank=True)
    # SHA-256 (hex) of the publishing secret, never the secret itself: the owner sees the key
    # once, in the go-live response; a leaked database or admin screen cannot publish.
    # Null until the first go-live; replaced on every go-live (rotation).
    stream_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    hls_url = models.CharField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    viewer_count = models.PositiveIntegerField(default=0)
    total_views = models.PositiveIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True, db_index=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "live now, most watched first" and "upcoming, soonest first".
            models.Index(fields=["status", "-viewer_count"], name="streams_status_viewers_idx"),
            models.Index(fields=["status", "scheduled_for"], name="streams_status_sched_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(viewer_count__gte=0), name="streams_stream_viewer_count_non_negative"),
            models.CheckConstraint(condition=Q(total_views__gte=0), name="streams_stream_total_views_non_negative"),
            models.CheckConstraint(condition=Q(status__in=StreamStatus.values), name="streams_stream_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title


MAX_TAGGED_PRODUCTS_PER_STREAM = 50


class StreamProduct(BaseModel):
    """A listing shown on the stream: where on the frame (``x``, ``y`` in 0..1) and whether it
    is the one pinned item (at most one per stream, enforced by a partial unique constraint)."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="tagged_products")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="stream_tags")
    x = models.FloatField()
    y = models.FloatField()
    pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-pinned", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "product"], name="streams_streamproduct_unique"),
            models.UniqueConstraint(
                fields=["stream"], condition=Q(pinned=True), name="streams_streamproduct_one_pinned"
            ),
            models.CheckConstraint(condition=Q(x__gte=0, x__lte=1), name="streams_streamproduct_x_in_frame"),
            models.CheckConstraint(condition=Q(y__gte=0, y__lte=1), name="streams_streamproduct_y_in_frame"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} · {self.product_id}"


# --- live-show chat ---------------------------------------------------------------------------

MAX_CHAT_TEXT_CHARS = 300


class StreamChatSettings(BaseModel):
    """The host's rules for a show's chat. A new show starts with the rules of the host's
    previous one (banned words, links, moderators), so they are set once, not per show."""

    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, related_name="chat_settings")
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    banned_words = models.JSONField(default=list, blank=True)
    links_allowed = models.BooleanField(default=False)
    moderators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="moderated_stream_chats")

    def __str__(self) -> str:
        return f"chat settings of {self.stream_id}"


class StreamChatMessage(BaseModel):
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="chat_messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stream_chat_messages")
    text = models.CharField(max_length=MAX_CHAT_TEXT_CHARS)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["stream", "-created_at", "-id"], name="streams_chat_stream_new_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.stream_id}"


class StreamChatRestriction(BaseModel):
    """A viewer muted until ``muted_until`` or banned from one show's chat."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="chat_restrictions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    muted_until = models.DateTimeField(null=True, blank=True)
    banned = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "user"], name="streams_chatrestriction_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.stream_id}"
