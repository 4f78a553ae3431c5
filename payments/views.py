from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import selectors, services
from payments.fees import compute_fees
from payments.serializers import (
    CheckoutInputSerializer,
    CheckoutSerializer,
    ConnectStatusSerializer,
    FeesQuerySerializer,
    FeesSerializer,
    OnboardingLinkSerializer,
    RefundInputSerializer,
    TransactionSerializer,
)
from soukloop.idempotency import idempotent

WebhookAckSerializer = inline_serializer(
    "WebhookAck", fields={"received": serializers.BooleanField(), "outcome": serializers.CharField()}
)


class FeesView(APIView):
    """What the platform keeps and what the seller gets for a price (a preview before listing)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[FeesQuerySerializer], responses=FeesSerializer)
    def get(self, request: Request) -> Response:
        query = FeesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fees = compute_fees(**query.validated_data)
        return Response(FeesSerializer(fees).data)


class ConnectOnboardView(APIView):
    @extend_schema(request=None, responses=OnboardingLinkSerializer)
    def post(self, request: Request) -> Response:
        url = services.connect_onboarding_link(user=request.user)
        return Response(OnboardingLinkSerializer({"url": url}).data)


class ConnectStatusView(APIView):
    @extend_schema(responses=ConnectStatusSerializer)
    def get(self, request: Request) -> Response:
        services.connect_account_refresh_if_stale(user=request.user)
        return Response(ConnectStatusSerializer(selectors.connect_status(user=request.user)).data)


class CheckoutView(APIView):
    @extend_schema(request=CheckoutInputSerializer, responses={201: CheckoutSerializer})
    @idempotent("checkout")
    def post(self, request: Request) -> Response:
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout = services.checkout_start(buyer=request.user, **data.validated_data)
        # 201 for a retry too: it returns the same transaction and client secret.
        return Response(CheckoutSerializer(checkout).data, status=status.HTTP_201_CREATED)


class StripeWebhookView(APIView):
    """Stripe calls this; the signature on the raw body is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    connect = False

    @extend_schema(request=None, responses={200: WebhookAckSerializer})
    def post(self, request: Request) -> Response:
        event = services.webhook_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature"), connect=self.connect
        )
        outcome = services.webhook_event_apply(event=event, connect=self.connect)
        return Response({"received": True, "outcome": outcome})


class StripeConnectWebhookView(StripeWebhookView):
    """Connect events (``account.updated``) for the sellers' Express accounts: Stripe sends
    them to a Connect endpoint with its own signing secret (STRIPE_CONNECT_WEBHOOK_SECRET)."""

    connect = True


@extend_schema(
    parameters=[
        OpenApiParameter("role", str, enum=["buyer", "seller"], description="Only purchases or only sales."),
    ]
)
class TransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The user's purchases and sales. Someone else's transaction is 404."""

    serializer_class = TransactionSerializer
    filter_backends: list = []
    lookup_value_regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def get_queryset(self):
        role = self.request.query_params.get("role")
        return selectors.transactions_for_user(
            user=self.request.user, role=role if role in ("buyer", "seller") else None
        )

    @extend_schema(request=None, responses=TransactionSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-receipt")
    def confirm_receipt(self, request: Request, pk: str | None = None) -> Response:
        tx = services.transaction_confirm_receipt(transaction_id=uuid.UUID(str(pk)), buyer=request.user)
        return Response(TransactionSerializer(tx).data)

    @extend_schema(request=RefundInputSerializer, responses=TransactionSerializer)
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str | None = None) -> Response:
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tx = services.transaction_refund(transaction_id=uuid.UUID(str(pk)), by=request.user, **data.validated_data)
        return Response(TransactionSerializer(tx).data)


def connect_landing(request: HttpRequest, step: str) -> HttpResponse:
    """Where Stripe sends a seller back after onboarding (it accepts only https URLs, not the
    app's own scheme): a tiny page that opens the app at ``APP_DEEP_LINK_BASE + step``."""
    target = settings.APP_DEEP_LINK_BASE + ("refresh" if step == "refresh" else "return")
    return render(request, "payments/connect_landing.html", {"target": target}, content_type="text/html")
