from django.contrib import admin

from auctions.models import Auction, Bid


class BidInline(admin.TabularInline):
    model = Bid
    extra = 0
    can_delete = False
    fields = ("bidder", "amount", "max_amount", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Auction)
class AuctionAdmin(admin.ModelAdmin):
    list_display = ("id", "stream", "product", "status", "outcome", "current_price", "bid_count", "ends_at")
    list_filter = ("status", "outcome")
    list_select_related = ("stream", "product")
    raw_id_fields = ("stream", "product", "host", "leader", "winner")
    inlines = (BidInline,)
