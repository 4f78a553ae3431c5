from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from auctions import services
from auctions.models import Auction, Bid
from soukloop.errors import DomainError


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
    actions = ("void_lots",)

    @admin.action(description=_("Void selected lots"), permissions=("change",))
    def void_lots(self, request: HttpRequest, queryset: QuerySet[Auction]) -> None:
        """Void each lot; a closed one's unpaid sale is cancelled (no strike), a paid one is
        refused until it is refunded (auctions.services.void_lot)."""
        voided = 0
        for lot in queryset:
            try:
                done = services.void_lot(auction_id=lot.pk)
            except DomainError as refusal:
                self.message_user(request, f"{lot.pk}: {refusal.detail}", messages.WARNING)
                continue
            if done is not None:
                # Audited in the admin log (Recent actions / LogEntry) like other staff actions,
                # with the status the lot had under its lock (a close may land after the page).
                self.log_change(request, lot, f"Voided (was {done.voided_from}).")
                voided += 1
        self.message_user(request, ngettext("%d lot voided.", "%d lots voided.", voided) % voided, messages.SUCCESS)
