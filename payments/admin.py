from django.contrib import admin

from payments.models import Transaction


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
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
        "created_at",
    )
    list_filter = ("status", "payout_status", "feed_type", "created_at")
    search_fields = ("buyer__username", "seller__username", "product__title", "stripe_payment_intent_id")
    list_select_related = ("product", "buyer", "seller")
    raw_id_fields = ("buyer", "seller", "product", "offer")
    date_hierarchy = "created_at"
