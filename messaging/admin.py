from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from accounts.services import user_suspend
from catalog.services import product_hide
from messaging import services
from messaging.models import Conversation, Message, Offer, Report, ReportStatus
from soukloop import admin_queues
from soukloop.admin_i18n import translate_labels
from soukloop.errors import DomainError


class RecordAdmin(admin.ModelAdmin):
    """A record of what two people said and agreed: staff read it, nobody rewrites it here.

    An accepted offer's price is what checkout charges, and chats and offers are the evidence
    behind reports, claims and disputes; an edit in the admin (even a superuser's) would change
    the money or the evidence with no trace in the conversation. So there is no change, add or
    delete: offers move through their own rules (accept, decline, counter, withdraw, lapse,
    cancel on refund), and content is dealt with through reports. Staff with the view
    permission (moderators, superusers) get Django's view-only page."""

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(RecordAdmin):
    list_display = ("id", "buyer", "seller", "product", "last_message_at", "created_at")
    search_fields = ("buyer__username", "seller__username", "product__title")
    list_select_related = ("buyer", "seller", "product")


@admin.register(Message)
class MessageAdmin(RecordAdmin):
    list_display = ("id", "conversation", "sender", "message_type", "is_read", "created_at")
    list_filter = ("message_type", "is_read")
    search_fields = ("content", "sender__username")
    list_select_related = ("sender",)


@admin.register(Offer)
class OfferAdmin(RecordAdmin):
    list_display = ("id", "product", "buyer", "seller", "offered_price", "counter_price", "status", "expires_at")
    list_filter = ("status",)
    search_fields = ("buyer__username", "seller__username", "product__title")
    list_select_related = ("product", "buyer", "seller")


class HideListingForm(forms.Form):
    reason = forms.CharField(label=_("Reason (kept in the audit log)"), max_length=300, widget=forms.Textarea)
    confirm = forms.BooleanField(label=_("Yes, take this listing off Souk Loop"))


class SuspendFromReportForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the person is told)"), max_length=300, widget=forms.Textarea)
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=3650, initial=7)
    confirm = forms.BooleanField(label=_("Yes, suspend and sign this person out everywhere"))


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
    change_form_template = "admin/messaging/report/change_form.html"

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
        closed = 0
        for report in queryset:
            if services.report_close(report=report, by=request.user, status=status):
                closed += 1
                self._audit_close(request, report, status, report.resolution_note)
        self.message_user(
            request,
            _("%(count)d report(s) marked %(status)s.") % {"count": closed, "status": ReportStatus(status).label},
        )

    def _audit_close(self, request: HttpRequest, report: Report, status: str, note: str) -> None:
        message = _("Report resolved") if status == ReportStatus.RESOLVED else _("Report dismissed")
        self.log_change(request, report, f"{message}: {note}" if note else str(message))

    # --- the report page's buttons: Resolve, Dismiss, Hide listing, Suspend user ---------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<uuid:object_id>/close/", view(self.close_view), name="messaging_report_close"),
            path("<uuid:object_id>/hide-listing/", view(self.hide_listing_view), name="messaging_report_hide_listing"),
            path("<uuid:object_id>/suspend-user/", view(self.suspend_user_view), name="messaging_report_suspend_user"),
            *super().get_urls(),
        ]

    def _report_for_action(self, request: HttpRequest, object_id) -> Report:
        report = get_object_or_404(Report.objects.select_related("reported_user"), pk=object_id)
        if not self.has_change_permission(request, report):
            raise PermissionDenied
        return report

    def _target_product(self, report: Report):
        from catalog.models import Product

        if report.target_type == "product":
            return Product.objects.filter(pk=report.target_id).first()
        if report.target_type == "message":
            message = Message.objects.select_related("conversation__product").filter(pk=report.target_id).first()
            return message.conversation.product if message else None
        return None

    @staticmethod
    def _target_name(report: Report, product) -> str:
        if report.target_type == "product" and product is not None:
            return product.title
        if report.target_type == "user" and report.reported_user is not None:
            return report.reported_user.username
        return str(report.get_target_type_display())

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:messaging_report_change", args=[report.pk]))

    def close_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """Resolve or dismiss from the report page, with the note typed there (kept)."""
        if request.method != "POST":
            raise Http404
        report = self._report_for_action(request, object_id)
        status = request.POST.get("status")
        if status not in (ReportStatus.RESOLVED, ReportStatus.DISMISSED):
            raise Http404
        note = (request.POST.get("resolution_note") or "").strip() or report.resolution_note
        if services.report_close(report=report, by=request.user, status=status, note=note):
            self._audit_close(request, report, status, note)
            self.message_user(request, _("Report marked %(status)s.") % {"status": ReportStatus(status).label})
        else:
            self.message_user(request, _("This report was already closed."), messages.WARNING)
        return self._back(report)

    def _confirm_page(self, request, report, form, title, intro, subject) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/messaging/report/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": report,
                "title": title,
                "intro": intro,
                "subject": subject,
                "form": form,
            },
        )

    def hide_listing_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """Takes the listing off every API answer (detail included), audited; resolves the report."""
        report = self._report_for_action(request, object_id)
        product = self._target_product(report)
        if product is None or product.deleted_at is not None:
            self.message_user(request, _("There is no visible listing to hide."), messages.WARNING)
            return self._back(report)
        form = HideListingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            if product_hide(product=product, by=request.user, reason=reason):
                self.log_change(request, product, _("Listing hidden: %(reason)s") % {"reason": reason})
            note = _("Listing hidden: %(reason)s") % {"reason": reason}
            if services.report_close(report=report, by=request.user, status=ReportStatus.RESOLVED, note=str(note)):
                self._audit_close(request, report, ReportStatus.RESOLVED, str(note))
            self.message_user(request, _("The listing is hidden and the report resolved."), messages.SUCCESS)
            return self._back(report)
        return self._confirm_page(
            request,
            report,
            form,
            _("Hide listing"),
            _(
                "The listing disappears from every list and its page answers 404 to everyone; "
                "chats and payments keep it."
            ),
            product.title,
        )

    def suspend_user_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """Suspends the person answerable for the report: signed out everywhere, told why, audited."""
        report = self._report_for_action(request, object_id)
        person = report.reported_user
        if person is None or person.is_staff or person.is_superuser:
            self.message_user(request, _("There is no account here a moderator can suspend."), messages.WARNING)
            return self._back(report)
        form = SuspendFromReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason, days = form.cleaned_data["reason"].strip(), form.cleaned_data["days"]
            try:
                user_suspend(user=person, by=request.user, reason=reason, days=days)
            except DomainError as exc:
                self.message_user(request, str(exc.detail), messages.ERROR)
                return self._back(report)
            self.log_change(
                request, person, _("Suspended for %(days)d days: %(reason)s") % {"days": days, "reason": reason}
            )
            note = _("Account suspended for %(days)d days: %(reason)s") % {"days": days, "reason": reason}
            if services.report_close(report=report, by=request.user, status=ReportStatus.RESOLVED, note=str(note)):
                self._audit_close(request, report, ReportStatus.RESOLVED, str(note))
            self.message_user(request, _("The account is suspended and the report resolved."), messages.SUCCESS)
            return self._back(report)
        return self._confirm_page(
            request,
            report,
            form,
            _("Suspend user"),
            _(
                "The account is signed out everywhere at once and cannot sign in until the suspension ends; "
                "the person is told the reason by email."
            ),
            f"{person.username} ({person.full_name})" if person.full_name else person.username,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = Report.objects.select_related("reported_user").filter(pk=object_id).first()
        extra = {}
        if report is not None:
            product = self._target_product(report)
            person = report.reported_user
            extra = {
                "can_act": report.status == ReportStatus.OPEN and self.has_change_permission(request, report),
                "can_hide": product is not None and product.deleted_at is None,
                "can_suspend": person is not None and person.is_active and not (person.is_staff or person.is_superuser),
                "subtitle": self._target_name(report, product),
                "title": _("Report: %(reason)s about %(target)s")
                % {"reason": report.get_reason_display(), "target": report.get_target_type_display().lower()},
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.action(description=_("Resolve selected reports (action taken)"), permissions=["change"])
    def resolve_reports(self, request, queryset) -> None:
        self._close(request, queryset, ReportStatus.RESOLVED)

    @admin.action(description=_("Dismiss selected reports (no action needed)"), permissions=["change"])
    def dismiss_reports(self, request, queryset) -> None:
        self._close(request, queryset, ReportStatus.DISMISSED)


admin_queues.register(
    admin_queues.Queue(
        label=_("Open reports"),
        url_name="admin:messaging_report_changelist",
        permission="messaging.view_report",
        pending=lambda: Report.objects.filter(status=ReportStatus.OPEN).count(),
        query=f"status__exact={ReportStatus.OPEN}",
        order=20,
    )
)


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    Conversation,
    name=_("conversation"),
    plural=_("conversations"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "buyer": _("buyer"),
        "seller": _("seller"),
        "product": _("product"),
        "last_message": _("last message"),
        "last_message_at": _("last message at"),
        "buyer_unread_count": _("buyer unread count"),
        "seller_unread_count": _("seller unread count"),
        "buyer_archived": _("buyer archived"),
        "seller_archived": _("seller archived"),
    },
)
translate_labels(
    Message,
    name=_("message"),
    plural=_("messages"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "conversation": _("conversation"),
        "sender": _("sender"),
        "message_type": _("message type"),
        "content": _("content"),
        "image_urls": _("image urls"),
        "offer_data": _("offer data"),
        "is_read": _("is read"),
        "read_at": _("read at"),
    },
)
translate_labels(
    Offer,
    name=_("offer"),
    plural=_("offers"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "conversation": _("conversation"),
        "product": _("product"),
        "buyer": _("buyer"),
        "seller": _("seller"),
        "offered_price": _("offered price"),
        "original_price": _("original price"),
        "currency": _("currency"),
        "status": _("status"),
        "counter_price": _("counter price"),
        "message": _("message"),
        "expires_at": _("expires at"),
        "responded_at": _("responded at"),
    },
)
translate_labels(
    Report,
    name=_("report"),
    plural=_("reports"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "reporter": _("reporter"),
        "target_type": _("target type"),
        "target_id": _("target id"),
        "reported_user": _("reported user"),
        "reason": _("reason"),
        "note": _("note"),
        "status": _("status"),
        "resolved_by": _("resolved by"),
        "resolved_at": _("resolved at"),
        "resolution_note": _("resolution note"),
    },
)
