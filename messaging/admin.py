from django.contrib import admin
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
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
        "target_context",
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

    @admin.display(description=_("what was reported"))
    def target_context(self, obj: Report) -> str:
        """The reported thing itself, with links, instead of a bare id: the listing (photos,
        title, price, seller, its other reports), the person (profile, listings, reports
        against them, blocks) or the message with the conversation around it."""
        if obj.target_type == "product":
            return self._product_context(obj)
        if obj.target_type == "user":
            return self._user_context(obj)
        return self._message_context(obj)

    @staticmethod
    def _others(obj: Report) -> int:
        return Report.objects.filter(target_type=obj.target_type, target_id=obj.target_id).exclude(pk=obj.pk).count()

    def _product_context(self, obj: Report) -> str:
        from catalog.models import Product

        product = Product.objects.select_related("seller").filter(pk=obj.target_id).first()
        if product is None:
            return _("The listing no longer exists.")
        photos = format_html_join(
            "",
            '<img src="{}" alt="" style="max-width:120px;max-height:120px;margin:2px">',
            ((u,) for u in product.image_urls[:4]),
        )
        return format_html(
            '<p><a href="{}">{}</a> · AED {} · {} <a href="{}">{}</a>{}</p><p>{}</p><p>{}</p>',
            reverse("admin:catalog_product_change", args=[product.pk]),
            product.title,
            product.price,
            _("seller"),
            reverse("admin:accounts_user_change", args=[product.seller_id]),
            product.seller.username,
            _(" · hidden") if product.deleted_at else "",
            photos,
            _("Other reports on this listing: %(n)s") % {"n": self._others(obj)},
        )

    def _user_context(self, obj: Report) -> str:
        from accounts.models import Block, User
        from catalog.models import Product

        person = User.objects.filter(pk=obj.target_id).first()
        if person is None:
            return _("The account no longer exists.")
        return format_html(
            '<p><a href="{}">{}</a> ({}) · {}: {} · {}: {} · {}: {}</p><p>{}</p>',
            reverse("admin:accounts_user_change", args=[person.pk]),
            person.username,
            person.full_name or "—",
            _("listings"),
            Product.objects.filter(seller=person, deleted_at__isnull=True).count(),
            _("reports against them"),
            Report.objects.filter(reported_user=person).count(),
            _("blocked by"),
            Block.objects.filter(blocked=person).count(),
            person.bio or "",
        )

    def _message_context(self, obj: Report) -> str:
        message = Message.objects.select_related("conversation", "sender").filter(pk=obj.target_id).first()
        if message is None:
            return _("The message no longer exists.")
        around = list(
            Message.objects.filter(conversation=message.conversation)
            .select_related("sender")
            .order_by("-created_at")[:10]
        )[::-1]
        lines = format_html_join(
            "",
            '<li style="{}">{}: {}</li>',
            (
                (
                    "font-weight:bold" if m.pk == message.pk else "",
                    m.sender.username if m.sender else _("system"),
                    m.content,
                )
                for m in around
            ),
        )
        return format_html(
            '<p><a href="{}">{}</a></p><ol>{}</ol>',
            reverse("admin:messaging_conversation_change", args=[message.conversation_id]),
            _("The conversation"),
            lines,
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
