from django.contrib import admin

from messaging.models import Conversation, Message, Offer


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
