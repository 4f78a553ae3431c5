from django.contrib import admin

from streams.models import Stream


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "status", "category", "viewer_count", "total_views", "scheduled_for", "started_at")
    list_filter = ("status", "category", "stream_type")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    # The stream key is a publishing credential: never shown, not even to staff.
    exclude = ("stream_key",)
    readonly_fields = ("viewer_count", "total_views", "duration_seconds", "started_at", "ended_at", "last_heartbeat_at")
