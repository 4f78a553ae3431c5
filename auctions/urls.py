from django.urls import path

from auctions.views import (
    AuctionBidsView,
    AuctionDetailView,
    AuctionSecondChanceView,
    AuctionStartView,
    StreamAuctionsView,
)

urlpatterns = [
    path("streams/<uuid:stream_id>/auctions/", StreamAuctionsView.as_view(), name="stream-auctions"),
    path("auctions/<uuid:auction_id>/", AuctionDetailView.as_view(), name="auction-detail"),
    path("auctions/<uuid:auction_id>/start/", AuctionStartView.as_view(), name="auction-start"),
    path("auctions/<uuid:auction_id>/bids/", AuctionBidsView.as_view(), name="auction-bids"),
    path("auctions/<uuid:auction_id>/second-chance/", AuctionSecondChanceView.as_view(), name="auction-second-chance"),
]
