"""Deliveries that failed every attempt (the dead letters) and the inbox rows behind them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Delivery, DeliveryStatus, Notification


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "status", "attempts", "last_error", "provider_status", "kind")
    list_filter = ("status", "channel")
    list_select_related = ("notification",)
    readonly_fields = [field.name for field in Delivery._meta.fields]
    search_fields = ("provider_id",)
    actions = ["retry"]
    ordering = ("-created_at",)

    @admin.display(description=_("kind"))
    def kind(self, delivery: Delivery) -> str:
        return delivery.notification.get_kind_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Try the selected dead deliveries again"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        from notifications.services import enqueue_deliveries

        ids = list(queryset.filter(status=DeliveryStatus.DEAD).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, attempts=0, not_before=None)
        enqueue_deliveries(ids)
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", len(ids)) % len(ids),
            messages.SUCCESS,
        )


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "title", "is_read")
    list_filter = ("kind", "is_read")
    list_select_related = ("user",)
    readonly_fields = [field.name for field in Notification._meta.fields]
    raw_id_fields = ("user",)
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
