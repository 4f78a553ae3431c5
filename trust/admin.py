"""Moderators' workspace for trust: the queue of escalated claims (oldest first) with
everything needed to decide side by side, the decision form, and review hiding. Every
decision goes through ``trust.services`` (audited on the claim, and in the admin history)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from messaging.models import Conversation, Message
from soukloop import admin_queues
from soukloop.errors import DomainError
from trust import services
from trust.models import Claim, ClaimDecision, ClaimStatus, EscalatedClaim, Review


def _photos(urls: list[str]) -> str:
    if not urls:
        return format_html("<em>{}</em>", _("no photos"))
    return format_html_join(
        "",
        '<a href="{0}" target="_blank"><img src="{0}" alt="" style="max-width:140px;max-height:140px;margin:2px"></a>',
        ((u,) for u in urls),
    )


class _ClaimContext:
    """Read-only panels shared by both claim admins."""

    @admin.display(description=_("statements and photos, side by side"))
    def side_by_side(self, obj: Claim) -> str:
        return format_html(
            '<table style="width:100%"><tr><th style="width:50%">{}</th><th>{}</th></tr>'
            '<tr><td style="vertical-align:top"><p><b>{}</b></p><p style="white-space:pre-wrap">{}</p>{}</td>'
            '<td style="vertical-align:top"><p><b>{}</b></p><p style="white-space:pre-wrap">{}</p>{}</td></tr></table>',
            _("Buyer %(name)s") % {"name": obj.buyer.username},
            _("Seller %(name)s") % {"name": obj.seller.username},
            obj.get_reason_display(),
            obj.description,
            _photos(obj.image_urls),
            obj.get_seller_action_display() or _("no answer"),
            obj.seller_response or "—",
            _photos(obj.seller_image_urls),
        )

    @admin.display(description=_("transaction and listing"))
    def sale(self, obj: Claim) -> str:
        tx = obj.transaction
        product = tx.product
        return format_html(
            '<p><a href="{}">{} {}</a> · {} · {} {} · {} {}</p><p><a href="{}">{}</a> · AED {}</p>{}',
            reverse("admin:payments_transaction_change", args=[tx.pk]),
            tx.amount,
            tx.currency,
            tx.get_status_display(),
            _("payout"),
            tx.get_payout_status_display(),
            _("refunded so far"),
            tx.amount_refunded,
            reverse("admin:catalog_product_change", args=[product.pk]),
            product.title,
            product.price,
            _photos(product.image_urls[:3]),
        )

    @admin.display(description=_("conversation (last 30 messages)"))
    def conversation(self, obj: Claim) -> str:
        conv = Conversation.objects.filter(
            buyer_id=obj.buyer_id, seller_id=obj.seller_id, product_id=obj.transaction.product_id
        ).first()
        if conv is None:
            return _("They did not chat about this listing.")
        rows = list(Message.objects.filter(conversation=conv).select_related("sender").order_by("-created_at")[:30])
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                '<tr><td style="white-space:nowrap">{}</td><td><b>{}</b></td><td style="white-space:pre-wrap">{}</td>'
                "<td>{}</td></tr>",
                (
                    (
                        m.created_at.strftime("%Y-%m-%d %H:%M"),
                        m.sender.username if m.sender else _("system"),
                        m.content,
                        _photos(m.image_urls) if m.image_urls else "",
                    )
                    for m in reversed(rows)
                ),
            ),
        )

    @admin.display(description=_("decision (audit)"))
    def audit(self, obj: Claim) -> str:
        if not obj.decided_at:
            return "—"
        return format_html(
            "{} · {} · {} · {}",
            obj.get_decision_display(),
            obj.refund_amount if obj.refund_amount is not None else "",
            obj.decided_by.username if obj.decided_by else "",
            obj.decided_at.strftime("%Y-%m-%d %H:%M UTC"),
        )


CLAIM_READONLY = (
    "status",
    "sale",
    "side_by_side",
    "conversation",
    "proposed_refund_amount",
    "created_at",
    "responded_at",
    "escalated_at",
    "audit",
    "decision_reason",
)


@admin.register(Claim)
class ClaimAdmin(_ClaimContext, admin.ModelAdmin):
    """Every claim (read only): the decisions are taken in the escalated queue."""

    list_display = ("created_at", "status", "reason", "buyer", "seller", "decision", "refund_amount", "decided_by")
    list_filter = ("status", "reason", "decision")
    search_fields = ("buyer__username", "seller__username", "transaction__id")
    list_select_related = ("buyer", "seller", "decided_by")
    readonly_fields = CLAIM_READONLY
    fields = CLAIM_READONLY

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DecisionForm(forms.ModelForm):
    decision_choice = forms.ChoiceField(label=_("decision"), choices=ClaimDecision.choices)
    amount = forms.DecimalField(
        label=_("refund amount (AED)"), required=False, max_digits=12, decimal_places=2, help_text=_("partial refund")
    )
    why = forms.CharField(label=_("reason (shown to both parties, kept for audit)"), widget=forms.Textarea)

    class Meta:
        model = Claim
        fields: list[str] = []

    request = None  # set by the admin

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.claim_decide(
                claim_id=self.instance.pk,
                moderator=self.request.user,
                decision=cleaned["decision_choice"],
                amount=cleaned.get("amount"),
                reason=cleaned["why"],
            )
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.detail} ({exc.code})") from exc
        return cleaned


@admin.register(EscalatedClaim)
class EscalatedClaimAdmin(_ClaimContext, admin.ModelAdmin):
    """The moderators' queue: escalated claims, oldest first; open one to decide it."""

    list_display = ("escalated_at", "reason", "buyer", "seller", "amount", "seller_action", "waiting")
    list_select_related = ("buyer", "seller", "transaction")
    list_filter = ("reason", "seller_action")
    search_fields = ("buyer__username", "seller__username")
    ordering = ("escalated_at", "created_at")
    form = DecisionForm
    readonly_fields = CLAIM_READONLY
    fieldsets = (
        (None, {"fields": ("status", "sale")}),
        (_("What each side says"), {"fields": ("side_by_side", "proposed_refund_amount")}),
        (_("Conversation"), {"fields": ("conversation",)}),
        (_("Decide"), {"fields": ("decision_choice", "amount", "why")}),
        (_("Dates"), {"fields": ("created_at", "responded_at", "escalated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=ClaimStatus.ESCALATED)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    @admin.display(description=_("amount"))
    def amount(self, obj: Claim) -> str:
        return f"{obj.transaction.amount} {obj.transaction.currency}"

    @admin.display(description=_("waiting since"))
    def waiting(self, obj: Claim) -> str:
        from django.utils.timesince import timesince

        return timesince(obj.escalated_at) if obj.escalated_at else "—"

    def save_model(self, request, obj, form, change):
        """The service saved the decision (in the form's clean, so a refusal shows on the form)."""
        messages.success(request, _("Decision recorded; both parties are notified."))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HideForm(forms.ModelForm):
    hide = forms.BooleanField(label=_("hidden"), required=False)
    reason = forms.CharField(label=_("why (audited)"), required=False, max_length=500)

    class Meta:
        model = Review
        fields: list[str] = []

    request = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["hide"].initial = self.instance.hidden_at is not None
            self.fields["reason"].initial = self.instance.hidden_reason

    def clean(self):
        cleaned = super().clean()
        try:
            services.review_set_hidden(
                review=self.instance, by=self.request.user, hidden=cleaned.get("hide", False), reason=cleaned["reason"]
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from exc
        return cleaned


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews; reported ones come from the reports queue (target type ``review``). Hiding one
    takes it off the profile and out of the rating."""

    list_display = ("created_at", "reviewer", "reviewee", "role", "rating", "counts", "published_at", "hidden_at")
    list_filter = ("role", "rating", "counts", ("hidden_at", admin.EmptyFieldListFilter))
    search_fields = ("reviewer__username", "reviewee__username", "comment")
    list_select_related = ("reviewer", "reviewee")
    form = HideForm
    readonly_fields = (
        "reviewer",
        "reviewee",
        "role",
        "rating",
        "comment",
        "reply",
        "counts",
        "published_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    )
    fields = (*readonly_fields, "hide", "reason")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def save_model(self, request, obj, form, change):
        """The service saved the change (audited on the review and in the admin history)."""

    def has_add_permission(self, request):
        return False


admin_queues.register(
    admin_queues.Queue(
        label=_("Escalated claims to decide"),
        url_name="admin:trust_escalatedclaim_changelist",
        permission="trust.view_escalatedclaim",
        pending=lambda: Claim.objects.filter(status=ClaimStatus.ESCALATED).count(),
        order=30,
    )
)
