from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.models import Notification, Preferences
from notifications.serializers import (
    DeviceOutSerializer,
    DeviceSerializer,
    MarkReadSerializer,
    NotificationPageSerializer,
    NotificationSerializer,
    PreferencesSerializer,
    preferences_representation,
)
from soukloop.errors import PermissionDenied
from soukloop.pagination import StandardCursorPagination


def _valid(serializer_class: Any, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DeviceViewSet(viewsets.ViewSet):
    lookup_field = "token"
    lookup_value_regex = "[^/]{1,512}"

    @extend_schema(
        summary="Register this device for pushes", request=DeviceSerializer, responses={201: DeviceOutSerializer}
    )
    def create(self, request: Request) -> Response:
        data = _valid(DeviceSerializer, request)
        device = services.device_register(user=request.user, platform=data["platform"], token=data["token"])
        return Response(DeviceOutSerializer(device).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Forget this device (on sign-out)", responses={204: None})
    def destroy(self, request: Request, token: str) -> Response:
        services.device_unregister(user=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxPagination(StandardCursorPagination):
    ordering = ("-created_at", "-id")


class NotificationViewSet(viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    pagination_class = InboxPagination

    queryset = Notification.objects.none()

    def get_queryset(self) -> Any:
        return selectors.inbox(user=self.request.user)

    @extend_schema(summary="My notifications, newest first", responses=NotificationPageSerializer)
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        unread = selectors.unread_count(user=request.user)
        response = self.get_paginated_response(NotificationSerializer(page, many=True).data)
        response.data["unread_count"] = unread
        response["X-Unread-Count"] = str(unread)
        return response

    @extend_schema(summary="Mark notifications read", request=MarkReadSerializer, responses={204: None})
    @action(detail=False, methods=["post"])
    def read(self, request: Request) -> Response:
        data = _valid(MarkReadSerializer, request)
        services.notifications_mark_read(user=request.user, ids=data.get("ids"), everything=data.get("all", False))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], summary="What reaches me, and when", responses=PreferencesSerializer)
    @extend_schema(
        methods=["PATCH"],
        summary="Change what reaches me",
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
    )
    @action(detail=False, methods=["get", "patch"])
    def preferences(self, request: Request) -> Response:
        if request.method == "PATCH":
            data = _valid(PreferencesSerializer, request, partial=True)
            preferences = services.preferences_update(
                user=request.user, channels=data.get("channels"), quiet_hours=data.get("quiet_hours")
            )
        else:
            preferences = Preferences.objects.filter(user=request.user).first()
        return Response(preferences_representation(preferences))


class TwilioStatusView(APIView):
    """Twilio's delivery reports (form-encoded, signed with the auth token over the callback
    URL and the parameters). Unsigned or wrongly signed: 403."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    parser_classes = [FormParser]
    throttle_classes: list[Any] = []

    @extend_schema(
        summary="Twilio SMS status callback",
        request=None,
        responses={204: None, 403: OpenApiResponse(description="bad signature")},
    )
    def post(self, request: Request) -> Response:
        from twilio.request_validator import RequestValidator

        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.TWILIO_STATUS_CALLBACK_URL or request.build_absolute_uri()
        params = {key: request.data.get(key) for key in request.data}
        if not settings.TWILIO_AUTH_TOKEN or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
            url, params, signature
        ):
            raise PermissionDenied("Bad signature.", code="bad_signature")
        services.sms_status_record(
            message_sid=str(params.get("MessageSid") or ""),
            status=str(params.get("MessageStatus") or ""),
            error_code=str(params.get("ErrorCode") or ""),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
