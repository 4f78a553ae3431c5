from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from payments.models import ConnectAccount, PayoutStatus, SellerDebt, StripeEvent, Transaction
from payments.services import payout_release, transaction_refund
from soukloop.admin_i18n import translate_labels
from soukloop.errors import DomainError


class DisputedFilter(admin.SimpleListFilter):
    title = _("Disputed")
    parameter_name = "disputed"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(disputed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(disputed_at__isnull=True)
        return queryset


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    """Finance: every payment, filterable, with totals of the filtered set and a refund action."""

    list_display = (
        "id",
        "product",
        "buyer",
        "seller",
        "amount",
        "platform_fee",
        "seller_payout",
        "status",
        "payout_status",
        "payout_blocked_reason",
        "disputed_at",
        "created_at",
    )
    list_filter = (
        "status",
        "payout_status",
        DisputedFilter,
        "payout_blocked_reason",
        "held_for_claim",
        "feed_type",
        "created_at",
    )
    search_fields = ("buyer__username", "seller__username", "product__title", "stripe_payment_intent_id")
    list_select_related = ("product", "buyer", "seller")
    raw_id_fields = ("buyer", "seller", "product", "offer")
    date_hierarchy = "created_at"
    actions = ["refund_selected", "release_selected"]
    readonly_fields = [f.name for f in Transaction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["finance_totals"] = changelist.queryset.order_by().aggregate(
                total_count=Count("id"),
                total_amount=Sum("amount"),
                total_fees=Sum("platform_fee"),
                total_payouts=Sum("seller_payout"),
                total_released=Sum("seller_payout", filter=Q(payout_status=PayoutStatus.RELEASED)),
                total_held=Sum("seller_payout", filter=Q(payout_status=PayoutStatus.HELD, status="completed")),
            )
        return response

    @admin.action(description=_("Refund the selected payments"), permissions=["change"])
    def refund_selected(self, request, queryset):
        refunded = 0
        for tx_id in queryset.values_list("pk", flat=True):
            try:
                transaction_refund(transaction_id=tx_id, by=request.user)
            except DomainError as exc:
                self.message_user(request, _("%(tx)s: %(error)s") % {"tx": tx_id, "error": exc.detail}, messages.ERROR)
            else:
                refunded += 1
        if refunded:
            self.message_user(
                request,
                ngettext("%(count)d payment refunded.", "%(count)d payments refunded.", refunded) % {"count": refunded},
                messages.SUCCESS,
            )

    @admin.action(description=_("Release the held payouts of the selected payments now"), permissions=["change"])
    def release_selected(self, request, queryset):
        """For staff with the change permission; each release is logged with who asked."""
        released = 0
        for tx_id in queryset.values_list("pk", flat=True):
            try:
                tx = payout_release(transaction_id=tx_id)
            except DomainError as exc:
                self.message_user(request, _("%(tx)s: %(error)s") % {"tx": tx_id, "error": exc.detail}, messages.ERROR)
                continue
            if tx.payout_status == PayoutStatus.RELEASED:
                released += 1
                self.log_change(request, tx, _("Payout released by staff"))
            else:
                self.message_user(
                    request,
                    _("%(tx)s waits: %(why)s") % {"tx": tx_id, "why": tx.payout_blocked_reason},
                    messages.WARNING,
                )
        if released:
            self.message_user(request, _("%(count)d payout(s) released.") % {"count": released}, messages.SUCCESS)


@admin.register(SellerDebt)
class SellerDebtAdmin(admin.ModelAdmin):
    """What sellers owe after reversals Stripe refused; an unsettled debt holds their payouts."""

    list_display = ("seller", "amount", "reason", "transaction", "created_at", "settled_at")
    list_filter = (("settled_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("seller__username",)
    list_select_related = ("seller", "transaction")
    raw_id_fields = ("seller", "transaction")
    readonly_fields = ("seller", "transaction", "amount", "reason", "created_at")
    actions = ["mark_settled"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Mark settled (the seller paid it back)"), permissions=["change"])
    def mark_settled(self, request, queryset):
        from django.utils import timezone

        for debt in queryset.filter(settled_at__isnull=True):
            debt.settled_at = timezone.now()
            debt.save(update_fields=["settled_at", "updated_at"])
            self.log_change(request, debt, _("Marked settled"))


@admin.register(ConnectAccount)
class ConnectAccountAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "updated_at",
    )
    list_filter = ("charges_enabled", "payouts_enabled", "details_submitted")
    search_fields = ("user__username", "stripe_account_id")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in ConnectAccount._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "object_id", "outcome", "applied", "received_at")
    # "Applied: no" is the list of events Stripe sent that changed nothing (unknown transaction,
    # mismatch, unhandled type): each is looked at; a redelivery applies it once fixed.
    list_filter = ("applied", "type", "outcome")
    search_fields = ("event_id", "object_id")
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    Transaction,
    name=_("transaction"),
    plural=_("transactions"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "buyer": _("buyer"),
        "seller": _("seller"),
        "product": _("product"),
        "offer": _("offer"),
        "amount": _("amount"),
        "currency": _("currency"),
        "platform_fee": _("platform fee"),
        "seller_payout": _("seller payout"),
        "feed_type": _("feed type"),
        "status": _("status"),
        "payout_status": _("payout status"),
        "amount_refunded": _("amount refunded"),
        "amount_transferred": _("amount transferred"),
        "amount_reversed": _("amount reversed"),
        "amount_disputed_lost": _("amount disputed lost"),
        "last_payment_error": _("last payment error"),
        "stripe_payment_intent_id": _("stripe payment intent id"),
        "stripe_charge_id": _("stripe charge id"),
        "stripe_transfer_id": _("stripe transfer id"),
        "payment_method": _("payment method"),
        "completed_at": _("completed at"),
        "failure_reason": _("failure reason"),
        "stripe_attempts": _("stripe attempts"),
        "receipt_confirmed_at": _("receipt confirmed at"),
        "payout_blocked_reason": _("payout blocked reason"),
        "payout_released_at": _("payout released at"),
        "refunded_at": _("refunded at"),
        "stripe_refund_id": _("stripe refund id"),
        "disputed_at": _("disputed at"),
        "stripe_dispute_id": _("stripe dispute id"),
    },
)
translate_labels(
    SellerDebt,
    name=_("seller debt"),
    plural=_("seller debts"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "seller": _("seller"),
        "transaction": _("transaction"),
        "amount": _("amount"),
        "reason": _("reason"),
        "settled_at": _("settled at"),
    },
)
translate_labels(
    ConnectAccount,
    name=_("connect account"),
    plural=_("connect accounts"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "user": _("user"),
        "stripe_account_id": _("stripe account id"),
        "charges_enabled": _("charges enabled"),
        "payouts_enabled": _("payouts enabled"),
        "details_submitted": _("details submitted"),
        "transfers_capability": _("transfers capability"),
        "disabled_reason": _("disabled reason"),
        "requirements_due": _("requirements due"),
        "last_event_at": _("last event at"),
    },
)
translate_labels(
    StripeEvent,
    name=_("stripe event"),
    plural=_("stripe events"),
    labels={
        "event_id": _("event id"),
        "type": _("type"),
        "object_id": _("object id"),
        "stripe_created_at": _("stripe created at"),
        "outcome": _("outcome"),
        "applied": _("applied"),
        "received_at": _("received at"),
    },
)
