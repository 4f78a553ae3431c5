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
    # Secret: shown only to the owner on go-live; null until the first go-live.
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
        constraints = [
            models.CheckConstraint(condition=Q(viewer_count__gte=0), name="streams_stream_viewer_count_non_negative"),
            models.CheckConstraint(condition=Q(total_views__gte=0), name="streams_stream_total_views_non_negative"),
            models.CheckConstraint(condition=Q(status__in=StreamStatus.values), name="streams_stream_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title
