from django.contrib import admin
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

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

    list_display = (
        "created_at",
        "status",
        "reason",
        "target_type",
        "target_id",
        "reports_on_target",
        "reported_user",
        "reporter",
    )
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

    def get_queryset(self, request):
        same_target_open = (
            Report.objects.filter(
                target_type=OuterRef("target_type"), target_id=OuterRef("target_id"), status=ReportStatus.OPEN
            )
            .order_by()
            .values("target_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(open_on_target=Coalesce(Subquery(same_target_open, output_field=IntegerField()), 0))
        )

    @admin.display(description=_("open reports on this target"), ordering="-open_on_target")
    def reports_on_target(self, obj: Report) -> int:
        """Several reports on one listing or person are worked together: this says how many."""
        return obj.open_on_target

    def changelist_view(self, request, extra_context=None):
        """Opens on the open reports, oldest first, with their count and the oldest one's age."""
        if request.method == "GET" and not request.GET:
            return HttpResponseRedirect(f"{request.path}?status__exact={ReportStatus.OPEN}")
        stats = Report.objects.filter(status=ReportStatus.OPEN).aggregate(n=Count("id"), oldest=Min("created_at"))
        if stats["n"]:
            title = _("Reports: %(n)s open, the oldest waiting %(span)s") % {
                "n": stats["n"],
                "span": timesince(stats["oldest"], timezone.now()),
            }
        else:
            title = _("Reports: nothing open")
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

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
