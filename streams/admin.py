from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from soukloop.admin_i18n import translate_labels
from streams import services
from streams.models import Stream, StreamProduct, StreamStatus


class StreamProductInline(admin.TabularInline):
    model = StreamProduct
    extra = 0
    raw_id_fields = ("product",)
    fields = ("product", "x", "y", "pinned", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "status", "category", "viewer_count", "total_views", "scheduled_for", "started_at")
    list_filter = ("status", "category", "stream_type")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    # The stream key is a publishing credential: never shown, not even to staff (and only its
    # hash is stored).
    exclude = ("stream_key",)
    readonly_fields = ("viewer_count", "total_views", "duration_seconds", "started_at", "ended_at", "last_heartbeat_at")
    inlines = (StreamProductInline,)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("end_streams",)

    @admin.action(description=_("End selected live streams"), permissions=("change",))
    def end_streams(self, request: HttpRequest, queryset: QuerySet[Stream]) -> None:
        ended = 0
        for stream in queryset.exclude(status=StreamStatus.ENDED):
            services.stream_end_by_staff(stream=stream)
            ended += 1
        self.message_user(request, ngettext("%d stream ended.", "%d streams ended.", ended) % ended, messages.SUCCESS)


@admin.register(StreamProduct)
class StreamProductAdmin(admin.ModelAdmin):
    list_display = ("stream", "product", "pinned", "x", "y", "created_at")
    list_filter = ("pinned",)
    list_select_related = ("stream", "product")
    raw_id_fields = ("stream", "product")
    search_fields = ("stream__title", "product__title")


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    Stream,
    name=_("stream"),
    plural=_("streams"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "user": _("user"),
        "title": _("title"),
        "description": _("description"),
        "category": _("category"),
        "status": _("status"),
        "stream_type": _("stream type"),
        "rtmp_url": _("rtmp url"),
        "stream_key": _("stream key"),
        "hls_url": _("hls url"),
        "thumbnail_url": _("thumbnail url"),
        "viewer_count": _("viewer count"),
        "total_views": _("total views"),
        "duration_seconds": _("duration seconds"),
        "started_at": _("started at"),
        "ended_at": _("ended at"),
        "scheduled_for": _("scheduled for"),
        "last_heartbeat_at": _("last heartbeat at"),
    },
)
translate_labels(
    StreamProduct,
    name=_("stream product"),
    plural=_("stream products"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "stream": _("stream"),
        "product": _("product"),
        "x": _("x"),
        "y": _("y"),
        "pinned": _("pinned"),
    },
)
