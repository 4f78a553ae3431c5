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
