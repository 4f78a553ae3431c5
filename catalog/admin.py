from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, ProductLike
from catalog.services import product_hide, product_mark_sold
from soukloop.admin_i18n import translate_labels
from soukloop.errors import Conflict


class HiddenFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("no", _("Visible")), ("yes", _("Hidden (deleted with history)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


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
    list_filter = ("category", "condition", "feed_type", "is_available", HiddenFilter, "neighborhood", "created_at")
    search_fields = ("title", "description", "seller__username", "seller__email", "neighborhood", "building_name")
    list_select_related = ("seller",)
    raw_id_fields = ("seller",)
    readonly_fields = ("view_count", "like_count", "hot_score", "sold_at", "deleted_at", "created_at", "updated_at")
    exclude = ("search_vector",)
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over the whole catalogue on each page
    # GISModelAdmin's OpenLayers map widget edits `location`; centred on Dubai.
    gis_widget_kwargs = {"attrs": {"default_lat": 25.2048, "default_lon": 55.2708, "default_zoom": 11}}
    actions = ["mark_sold", "hide_listings"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description=_("Mark selected listings sold"))
    def mark_sold(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        sold = 0
        for product in queryset.filter(is_available=True):
            try:
                product_mark_sold(product=product)
                sold += 1
            except Conflict:
                continue
        self.message_user(request, _("%(count)d listing(s) marked sold.") % {"count": sold}, messages.SUCCESS)

    @admin.action(description=_("Hide selected listings (gone from the app, kept for history)"), permissions=["change"])
    def hide_listings(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        """Unticking "is available" still served the listing's page to anyone; hiding does not."""
        hidden = 0
        for product in queryset:
            if product_hide(product=product, by=request.user, reason="hidden from the product list"):
                hidden += 1
                self.log_change(request, product, _("Hidden by a moderator"))
        self.message_user(request, _("%(count)d listing(s) hidden.") % {"count": hidden}, messages.SUCCESS)


@admin.register(ProductLike)
class ProductLikeAdmin(admin.ModelAdmin):
    list_display = ("user", "product", "created_at")
    search_fields = ("user__username", "product__title")
    list_select_related = ("user", "product")
    raw_id_fields = ("user", "product")


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    Product,
    name=_("product"),
    plural=_("products"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "seller": _("seller"),
        "title": _("title"),
        "description": _("description"),
        "price": _("price"),
        "original_price": _("original price"),
        "currency": _("currency"),
        "category": _("category"),
        "condition": _("condition"),
        "feed_type": _("feed type"),
        "location": _("location"),
        "neighborhood": _("neighborhood"),
        "building_name": _("building name"),
        "is_available": _("is available"),
        "view_count": _("view count"),
        "like_count": _("like count"),
        "image_urls": _("image urls"),
        "video_url": _("video url"),
        "video_thumbnail_url": _("video thumbnail url"),
        "tags": _("tags"),
        "sold_at": _("sold at"),
        "deleted_at": _("deleted at"),
        "hot_score": _("hot score"),
    },
)
translate_labels(
    ProductLike,
    name=_("product like"),
    plural=_("product likes"),
    labels={
        "user": _("user"),
        "product": _("product"),
        "created_at": _("created at"),
    },
)
