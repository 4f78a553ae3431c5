from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from soukloop.throttling import ScopedRateThrottle
from verification import selectors, services
from verification.models import Verification
from verification.serializers import VerificationSerializer, VerificationSubmitSerializer, no_submission_data


class VerificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own identity / trade licence verification."""

    serializer_class = VerificationSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet[Verification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Verification.objects.none()
        return selectors.verifications_of_user(user=self.request.user)

    def get_throttles(self):
        if self.action == "create":
            self.throttle_scope = "uploads"
            return [*super().get_throttles(), ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        summary="Submit a verification (multipart)",
        request={"multipart/form-data": VerificationSubmitSerializer},
        responses={201: VerificationSerializer},
    )
    def create(self, request: Request) -> Response:
        incoming = VerificationSubmitSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        verification = services.verification_submit(
            user=request.user, ip=request.META.get("REMOTE_ADDR"), **incoming.validated_data
        )
        return Response(VerificationSerializer(verification).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="My submissions, newest first (history kept after rejections)")
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="My latest submission (ID number masked); status none before any",
        request=None,
        responses={200: VerificationSerializer},
    )
    @action(detail=False, methods=["get"], url_path="me")
    def me(self, request: Request) -> Response:
        latest = selectors.verification_latest_for_user(user=request.user)
        if latest is None:
            return Response(no_submission_data())
        return Response(VerificationSerializer(latest).data)
