from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions import selectors, services
from auctions.serializers import (
    AuctionCreateSerializer,
    AuctionSerializer,
    BidCreateSerializer,
    BidSerializer,
    SecondChanceCreateSerializer,
    SecondChanceSerializer,
)
from soukloop.errors import NotFound


class StreamAuctionsView(APIView):
    """GET the show's lots; POST (host, stream live) put up a lot."""

    permission_classes = (IsAuthenticatedOrReadOnly,)
    serializer_class = AuctionSerializer

    def get(self, request: Request, stream_id: str) -> Response:
        lots = selectors.auction_list(stream_id=stream_id)
        return Response({"results": AuctionSerializer(lots, many=True, context={"request": request}).data})

    @extend_schema(request=AuctionCreateSerializer, responses={201: AuctionSerializer})
    def post(self, request: Request, stream_id: str) -> Response:
        ser = AuctionCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lot = services.create_lot(host=request.user, stream_id=stream_id, **ser.validated_data)
        return Response(AuctionSerializer(lot, context={"request": request}).data, status=status.HTTP_201_CREATED)


class AuctionDetailView(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)
    serializer_class = AuctionSerializer

    def get(self, request: Request, auction_id: str) -> Response:
        lot = selectors.auction_get(auction_id=auction_id)
        if lot is None:
            raise NotFound("No such lot.")
        return Response(AuctionSerializer(lot, context={"request": request}).data)


class AuctionStartView(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)
    serializer_class = AuctionSerializer

    @extend_schema(request=None, responses={200: AuctionSerializer})
    def post(self, request: Request, auction_id: str) -> Response:
        services.start_lot(host=request.user, auction_id=auction_id)
        lot = selectors.auction_get(auction_id=auction_id)
        return Response(AuctionSerializer(lot, context={"request": request}).data)


class AuctionBidsView(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)
    serializer_class = BidSerializer

    def get(self, request: Request, auction_id: str) -> Response:
        if selectors.auction_get(auction_id=auction_id) is None:
            raise NotFound("No such lot.")
        bids = selectors.bid_list(auction_id=auction_id)[:200]
        return Response({"results": BidSerializer(bids, many=True).data})

    @extend_schema(request=BidCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, auction_id: str) -> Response:
        ser = BidCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.place_bid(bidder=request.user, auction_id=auction_id, **ser.validated_data)
        return Response(
            {"accepted_amount": str(result.accepted_amount), "is_leader": result.is_leader, "ends_at": result.ends_at},
            status=status.HTTP_201_CREATED,
        )


class AuctionSecondChanceView(APIView):
    """The host offers a closed lot to the next buyer: the runner-up when the winner left it
    unpaid, the high bidder when the reserve was not met (at their highest bid)."""

    permission_classes = (IsAuthenticated,)
    serializer_class = SecondChanceSerializer

    @extend_schema(request=SecondChanceCreateSerializer, responses={201: SecondChanceSerializer})
    def post(self, request: Request, auction_id: str) -> Response:
        ser = SecondChanceCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.second_chance_offer(host=request.user, auction_id=auction_id, **ser.validated_data)
        return Response(SecondChanceSerializer(result).data, status=status.HTTP_201_CREATED)
