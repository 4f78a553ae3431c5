from django.contrib import admin

from discovery.models import SavedSearch


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "category", "alerts", "pending_count", "last_alerted_at", "created_at")
    list_filter = ("alerts", "category")
    search_fields = ("name", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = (
        "params",
        "category",
        "q_key",
        "q_words",
        "area",
        "center",
        "radius_m",
        "min_price",
        "max_price",
        "last_alerted_at",
        "pending_count",
        "pending_titles",
        "pending_since",
    )
