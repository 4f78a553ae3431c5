from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_get_active
from trust import selectors, services
from trust.serializers import (
    ClaimCreateSerializer,
    ClaimRespondSerializer,
    ClaimSerializer,
    ReviewCreatedSerializer,
    ReviewCreateSerializer,
    ReviewReplySerializer,
    ReviewSerializer,
)

UUID_RE = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class TransactionClaimView(APIView):
    """The buyer opens a claim on a completed purchase while its payout is held."""

    @extend_schema(request=ClaimCreateSerializer, responses={201: ClaimSerializer})
    def post(self, request: Request, pk: str) -> Response:
        data = ClaimCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_open(buyer=request.user, transaction_id=uuid.UUID(pk), **data.validated_data)
        return Response(ClaimSerializer(claim, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """My claims, as buyer or seller; anyone else's is 404."""

    serializer_class = ClaimSerializer
    filter_backends: list = []
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        return selectors.claims_of(user=self.request.user)

    def _answer(self, claim) -> Response:
        return Response(ClaimSerializer(claim, context={"request": self.request}).data)

    @extend_schema(request=ClaimRespondSerializer, responses=ClaimSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request: Request, pk: str | None = None) -> Response:
        data = ClaimRespondSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(services.claim_respond(claim_id=uuid.UUID(pk), seller=request.user, **data.validated_data))

    @extend_schema(request=None, responses=ClaimSerializer)
    @action(detail=True, methods=["post"], url_path="accept-proposal")
    def accept_proposal(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(services.claim_accept_proposal(claim_id=uuid.UUID(pk), buyer=request.user))

    @extend_schema(request=None, responses=ClaimSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(services.claim_withdraw(claim_id=uuid.UUID(pk), buyer=request.user))


class TransactionReviewView(APIView):
    """The buyer or the seller reviews the other side of a completed purchase, once."""

    @extend_schema(request=ReviewCreateSerializer, responses={201: ReviewCreatedSerializer})
    def post(self, request: Request, pk: str) -> Response:
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(reviewer=request.user, transaction_id=uuid.UUID(pk), **data.validated_data)
        return Response(ReviewCreatedSerializer(review).data, status=status.HTTP_201_CREATED)


class UserReviewsView(ListAPIView):
    """Published reviews a person received, newest first (anyone may read them)."""

    permission_classes = [AllowAny]
    serializer_class = ReviewSerializer
    filter_backends: list = []

    def get_queryset(self):
        user = user_get_active(username=self.kwargs["username"])
        if user is None:
            raise Http404
        services.reviews_publish_due(reviewee=user)  # windows that closed since the last run
        return selectors.reviews_received(user=user)


class ReviewReplyView(APIView):
    @extend_schema(request=ReviewReplySerializer, responses=ReviewSerializer)
    def post(self, request: Request, pk: str) -> Response:
        data = ReviewReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_reply(review_id=uuid.UUID(pk), user=request.user, text=data.validated_data["reply"])
        return Response(ReviewSerializer(review).data)
