from django.contrib import admin
from django.utils.translation import gettext as _

from messaging import services
from messaging.models import Conversation, Message, Offer, Report, ReportStatus


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "buyer", "seller", "product", "last_message_at", "created_at")
    search_fields = ("buyer__username", "seller__username", "product__title")
    list_select_related = ("buyer", "seller", "product")
    raw_id_fields = ("buyer", "seller", "product", "last_message")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "sender", "message_type", "is_read", "created_at")
    list_filter = ("message_type", "is_read")
    search_fields = ("content", "sender__username")
    list_select_related = ("sender",)
    raw_id_fields = ("conversation", "sender")


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("id", "product", "buyer", "seller", "offered_price", "counter_price", "status", "expires_at")
    list_filter = ("status",)
    search_fields = ("buyer__username", "seller__username", "product__title")
    list_select_related = ("product", "buyer", "seller")
    raw_id_fields = ("conversation", "product", "buyer", "seller")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderators' queue: open reports oldest first; resolve or dismiss in bulk."""

    list_display = ("created_at", "status", "reason", "target_type", "target_id", "reported_user", "reporter")
    list_filter = ("status", "reason", "target_type")
    search_fields = ("reporter__username", "reported_user__username", "note")
    list_select_related = ("reporter", "reported_user", "resolved_by")
    raw_id_fields = ("reporter", "reported_user", "resolved_by")
    readonly_fields = (
        "reporter",
        "target_type",
        "target_id",
        "reported_user",
        "reason",
        "note",
        "status",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
    fields = (*readonly_fields, "resolution_note")
    ordering = ("created_at",)
    actions = ("resolve_reports", "dismiss_reports")

    def has_add_permission(self, request) -> bool:
        return False  # reports come from the app

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the queue is an audit trail

    def _close(self, request, queryset, status: str) -> None:
        closed = sum(services.report_close(report=report, by=request.user, status=status) for report in queryset)
        self.message_user(request, _("%(count)d report(s) marked %(status)s.") % {"count": closed, "status": status})

    @admin.action(description=_("Resolve selected reports (action taken)"), permissions=["change"])
    def resolve_reports(self, request, queryset) -> None:
        self._close(request, queryset, ReportStatus.RESOLVED)

    @admin.action(description=_("Dismiss selected reports (no action needed)"), permissions=["change"])
    def dismiss_reports(self, request, queryset) -> None:
        self._close(request, queryset, ReportStatus.DISMISSED)
