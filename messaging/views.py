"""Thin views: validate input → one service/selector → serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from messaging import selectors, services
from messaging.models import Conversation, Offer, Report
from messaging.serializers import (
    ConversationCreateSerializer,
    ConversationListQuerySerializer,
    ConversationSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    OfferCounterSerializer,
    OfferCreateSerializer,
    OfferListQuerySerializer,
    OfferSerializer,
    ReadResultSerializer,
    ReportCreateSerializer,
    ReportSerializer,
)
from soukloop.idempotency import idempotent
from soukloop.pagination import StandardCursorPagination, StandardPagination
from soukloop.throttling import ScopedRateThrottle, UserRateThrottle


class MessagePagination(StandardCursorPagination):
    """Newest first; a cursor page never shifts when new messages arrive on top."""

    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="My conversations, newest activity first",
        parameters=[ConversationListQuerySerializer],
    ),
    retrieve=extend_schema(summary="One of my conversations"),
)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Conversation.objects.none()
    serializer_class = ConversationSerializer
    pagination_class = StandardPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Conversation.objects.none()
        query = ConversationListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.conversations_for_user(user=self.request.user, archived=query.validated_data["archived"])

    def get_object(self) -> Conversation:
        return selectors.conversation_for_participant(user=self.request.user, conversation_id=self.kwargs["pk"])

    def _conversation_response(self, conversation: Conversation, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.conversation_for_participant(user=self.request.user, conversation_id=conversation.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Open (or find) my conversation about a listing",
        request=ConversationCreateSerializer,
        responses={201: ConversationSerializer, 200: ConversationSerializer},
    )
    def create(self, request: Request) -> Response:
        data = ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation, created = services.conversation_open(
            buyer=request.user, product_id=data.validated_data["product_id"]
        )
        return self._conversation_response(conversation, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        methods=["GET"],
        summary="Messages, newest first (cursor pagination)",
        request=None,
        responses=MessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Send a text or image message",
        request=MessageCreateSerializer,
        responses={201: MessageSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=MessagePagination)
    @idempotent("message_send")
    def messages(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.messages_for_conversation(conversation=conversation))
            return self.get_paginated_response(MessageSerializer(page, many=True, context={"request": request}).data)
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send(conversation=conversation, sender=request.user, **data.validated_data)
        message.sender = request.user
        return Response(MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Mark the other side's messages read", request=None, responses=ReadResultSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        marked = services.conversation_mark_read(conversation=self.get_object(), user=request.user)
        return Response(ReadResultSerializer({"marked_read": marked, "unread_count": 0}).data)

    @extend_schema(summary="Archive from my side", request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        services.conversation_set_archived(conversation=conversation, user=request.user, archived=True)
        return self._conversation_response(conversation)

    @extend_schema(summary="Unarchive from my side", request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        services.conversation_set_archived(conversation=conversation, user=request.user, archived=False)
        return self._conversation_response(conversation)


@extend_schema_view(
    list=extend_schema(summary="Offers I made or received", parameters=[OfferListQuerySerializer]),
    retrieve=extend_schema(summary="One of my offers"),
)
class OfferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Offer.objects.none()
    serializer_class = OfferSerializer
    pagination_class = StandardPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Offer.objects.none()
        query = OfferListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.offers_for_user(user=self.request.user, **query.validated_data)

    def get_object(self) -> Offer:
        return selectors.offer_for_participant(user=self.request.user, offer_id=self.kwargs["pk"])

    def _offer_response(self, offer: Offer, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.offer_for_participant(user=self.request.user, offer_id=offer.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Make an offer on a listing (buyer)", request=OfferCreateSerializer, responses={201: OfferSerializer}
    )
    @idempotent("offer_create")
    def create(self, request: Request) -> Response:
        data = OfferCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.offer_create(buyer=request.user, **data.validated_data)
        return self._offer_response(offer, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Accept: the seller a pending offer, the buyer a counter-offer",
        request=None,
        responses={200: OfferSerializer, 409: OpenApiResponse(description="offer not open / listing sold")},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._offer_response(services.offer_accept(offer=self.get_object(), by=request.user))

    @extend_schema(
        summary="Decline: the seller a pending offer, the buyer a counter-offer",
        request=None,
        responses={200: OfferSerializer},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._offer_response(services.offer_decline(offer=self.get_object(), by=request.user))

    @extend_schema(
        summary="Counter a pending offer (seller)", request=OfferCounterSerializer, responses=OfferSerializer
    )
    @action(detail=True, methods=["post"])
    def counter(self, request: Request, pk: str | None = None) -> Response:
        data = OfferCounterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.offer_counter(
            offer=self.get_object(), by=request.user, counter_price=data.validated_data["counter_price"]
        )
        return self._offer_response(offer)

    @extend_schema(summary="Withdraw a pending offer (buyer)", request=None, responses=OfferSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        return self._offer_response(services.offer_withdraw(offer=self.get_object(), by=request.user))


class ReportViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = Report.objects.none()
    serializer_class = ReportSerializer
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "reports"

    @extend_schema(
        summary="Report a user, listing or message to the moderators",
        request=ReportCreateSerializer,
        responses={201: ReportSerializer},
    )
    def create(self, request: Request) -> Response:
        data = ReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, _created = services.report_create(reporter=request.user, **data.validated_data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
