from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from catalog.models import Product, ProductLike


@admin.register(Product)
class ProductAdmin(GISModelAdmin):
    list_display = (
        "title",
        "seller",
        "price",
        "category",
        "condition",
        "feed_type",
        "is_available",
        "neighborhood",
        "created_at",
    )
    list_filter = ("category", "condition", "feed_type", "is_available", "created_at")
    search_fields = ("title", "description", "seller__username", "neighborhood")
    list_select_related = ("seller",)
    raw_id_fields = ("seller",)
    readonly_fields = ("view_count", "like_count", "created_at", "updated_at")
    date_hierarchy = "created_at"


@admin.register(ProductLike)
class ProductLikeAdmin(admin.ModelAdmin):
    list_display = ("user", "product", "created_at")
    search_fields = ("user__username", "product__title")
    list_select_related = ("user", "product")
    raw_id_fields = ("user", "product")
