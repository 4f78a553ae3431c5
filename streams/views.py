from __future__ import annotations

import logging
from urllib.parse import parse_qs

from django.http import HttpResponseRedirect
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from streams import selectors, services
from streams.filters import StreamFilter
from streams.models import Stream
from streams.permissions import IsMediaServer
from streams.serializers import (
    ChatBanSerializer,
    ChatMessageSerializer,
    ChatMuteSerializer,
    ChatSendSerializer,
    ChatSettingsSerializer,
    GoLiveSerializer,
    HookResultSerializer,
    MediaMtxAuthSerializer,
    RtmpHookSerializer,
    StreamProductSerializer,
    StreamProductWriteSerializer,
    StreamSerializer,
    StreamWriteSerializer,
    ViewerCountSerializer,
)

logger = logging.getLogger(__name__)


@extend_schema_view(
    list=extend_schema(summary="Browse streams: live (most watched first), upcoming, past"),
    retrieve=extend_schema(summary="One stream; viewer_count is current while live"),
    create=extend_schema(summary="Schedule a stream", request=StreamWriteSerializer, responses={201: StreamSerializer}),
    partial_update=extend_schema(
        summary="Change a stream that has not started (host)",
        request=StreamWriteSerializer,
        responses=StreamSerializer,
    ),
    destroy=extend_schema(summary="Delete a stream that is not live (host)", responses={204: None}),
)
class StreamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = StreamSerializer
    permission_classes = (IsAuthenticatedOrReadOnly,)
    filterset_class = StreamFilter
    http_method_names = ("get", "post", "patch", "delete", "head", "options")
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if self.action == "list":
            return selectors.streams_list(user=self.request.user)
        return selectors.streams_visible_to(user=self.request.user)

    def _reloaded(self, stream: Stream) -> Stream:
        return selectors.streams_visible_to(user=self.request.user).get(pk=stream.pk)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        stream = selectors.stream_with_current_counts(stream=self.get_object())
        return Response(StreamSerializer(stream).data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = StreamWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stream = services.stream_create(user=request.user, **serializer.validated_data)
        return Response(StreamSerializer(self._reloaded(stream)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        stream = self.get_object()
        serializer = StreamWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        stream = services.stream_update(stream=stream, by=request.user, data=serializer.validated_data)
        return Response(StreamSerializer(self._reloaded(stream)).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.stream_delete(stream=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Get publishing credentials (host); the key is shown only here and rotates each time",
        request=None,
        responses={200: GoLiveSerializer},
    )
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request: Request, pk=None) -> Response:
        credentials = services.stream_go_live(stream=self.get_object(), by=request.user)
        response = Response(GoLiveSerializer(credentials).data)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(summary="End the stream (host)", request=None, responses={200: StreamSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk=None) -> Response:
        stream = services.stream_end(stream=self.get_object(), by=request.user)
        return Response(StreamSerializer(self._reloaded(stream)).data)

    @extend_schema(
        summary="Start watching / heartbeat (re-join within STREAM_VIEWER_TTL_SECONDS)",
        request=None,
        responses={200: ViewerCountSerializer},
    )
    @action(detail=True, methods=["post"])
    def join(self, request: Request, pk=None) -> Response:
        counts = services.stream_join(stream=self.get_object(), viewer=request.user)
        return Response(ViewerCountSerializer(counts).data)

    @extend_schema(summary="Stop watching", request=None, responses={200: ViewerCountSerializer})
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk=None) -> Response:
        counts = services.stream_leave(stream=self.get_object(), viewer=request.user)
        return Response(ViewerCountSerializer(counts).data)

    @extend_schema(
        methods=["GET"],
        summary="Listings shown on the stream, pinned first (sold ones show is_available=false)",
        responses=StreamProductSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Tag one of my available listings on my stream (again: move / pin it)",
        request=StreamProductWriteSerializer,
        responses={201: StreamProductSerializer, 200: StreamProductSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="products", filterset_class=None)
    def products(self, request: Request, pk=None) -> Response:
        stream = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.stream_products_list(stream=stream))
            return self.get_paginated_response(StreamProductSerializer(page, many=True).data)
        serializer = StreamProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag, created = services.stream_product_tag(stream=stream, by=request.user, **serializer.validated_data)
        return Response(
            StreamProductSerializer(tag).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(summary="Untag a listing (host)", request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"products/(?P<product_id>[0-9a-fA-F-]{36})",
        url_name="product-detail",
        filterset_class=None,
    )
    def product_detail(self, request: Request, pk=None, product_id=None) -> Response:
        services.stream_product_untag(stream=self.get_object(), by=request.user, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- live-show chat ---------------------------------------------------------------------

    @extend_schema(methods=["GET"], summary="The show's chat, newest first", responses=ChatMessageSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Say something in a live show's chat (≤ 300 characters)",
        request=ChatSendSerializer,
        responses={201: ChatMessageSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="chat", filterset_class=None)
    def chat(self, request: Request, pk=None) -> Response:
        stream = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.chat_messages_list(stream=stream))
            return self.get_paginated_response(ChatMessageSerializer(page, many=True).data)
        serializer = ChatSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.chat_send(stream=stream, user=request.user, text=serializer.validated_data["text"])
        return Response(ChatMessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Take a chat message down (host, moderators)", request=None, responses={204: None})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"chat/(?P<message_id>[0-9a-fA-F-]{36})/delete",
        url_name="chat-delete",
        filterset_class=None,
    )
    def chat_delete(self, request: Request, pk=None, message_id=None) -> Response:
        services.chat_message_delete(stream=self.get_object(), by=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Mute a viewer for N minutes (host, moderators)", request=ChatMuteSerializer)
    @action(detail=True, methods=["post"], url_path="chat/mute", url_name="chat-mute", filterset_class=None)
    def chat_mute(self, request: Request, pk=None) -> Response:
        serializer = ChatMuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        restriction = services.chat_mute(stream=self.get_object(), by=request.user, **serializer.validated_data)
        return Response({"user_id": str(restriction.user_id), "muted_until": restriction.muted_until})

    @extend_schema(summary="Ban a viewer from the show's chat (host, moderators)", request=ChatBanSerializer)
    @action(detail=True, methods=["post"], url_path="chat/ban", url_name="chat-ban", filterset_class=None)
    def chat_ban(self, request: Request, pk=None) -> Response:
        serializer = ChatBanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        restriction = services.chat_ban(stream=self.get_object(), by=request.user, **serializer.validated_data)
        return Response({"user_id": str(restriction.user_id), "banned": restriction.banned})

    @extend_schema(methods=["GET"], summary="The chat's rules (host, moderators)", responses=ChatSettingsSerializer)
    @extend_schema(
        methods=["PATCH"],
        summary="Slow mode, banned words, links (host, moderators); moderators (host)",
        request=ChatSettingsSerializer,
        responses=ChatSettingsSerializer,
    )
    @action(
        detail=True, methods=["get", "patch"], url_path="chat/settings", url_name="chat-settings", filterset_class=None
    )
    def chat_settings(self, request: Request, pk=None) -> Response:
        stream = self.get_object()
        if request.method == "GET":
            if not request.user.is_authenticated:
                raise NotAuthenticated
            services.ensure_chat_moderator(stream=stream, by=request.user)
            return Response(ChatSettingsSerializer(services.chat_settings_for(stream=stream)).data)
        serializer = ChatSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        chat_settings = services.chat_settings_update(stream=stream, by=request.user, data=serializer.validated_data)
        return Response(ChatSettingsSerializer(chat_settings).data)


# --- media-server hooks -----------------------------------------------------------------------
# Called by nginx-rtmp / MediaMTX, not by people: no JWT, no session (so no CSRF), no throttle;
# IsMediaServer checks the source address and the shared secret. The bodies carry publishing
# keys: never log them (only stream ids), and hide them from Django's error reports.

_HOOK_SENSITIVE = ("name", "key", "args", "tcurl", "swfurl", "pageurl", "query", "password", "token")


@method_decorator(sensitive_post_parameters(*_HOOK_SENSITIVE), name="dispatch")
class MediaHookView(APIView):
    authentication_classes = ()
    permission_classes = (IsMediaServer,)
    throttle_classes = ()
    parser_classes = (FormParser, MultiPartParser, JSONParser)

    def rtmp_fields(self, request: Request) -> dict:
        serializer = RtmpHookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @staticmethod
    def key_from(request: Request, fields: dict) -> str | None:
        """The key as a publish-URL argument: a form field, the hook URL's ``?key=``, or ``args``."""
        if fields["key"]:
            return fields["key"]
        if request.query_params.get("key"):
            return request.query_params["key"]
        return (parse_qs(fields["args"]).get("key") or [None])[0]


class PublishHookView(MediaHookView):
    @extend_schema(
        summary="nginx-rtmp on_publish: 2xx allows (stream goes live), 403 refuses",
        request={"application/x-www-form-urlencoded": RtmpHookSerializer},
        responses={
            200: HookResultSerializer,
            302: OpenApiResponse(description="With ?rename=1: publish under the stream id (Location)"),
        },
        parameters=[
            OpenApiParameter("secret", OpenApiTypes.STR, description="MEDIA_HOOK_SECRET"),
            OpenApiParameter("rename", OpenApiTypes.BOOL, description="Answer 302 so nginx-rtmp renames key→id"),
        ],
    )
    def post(self, request: Request) -> Response:
        fields = self.rtmp_fields(request)
        stream = services.stream_publish_start(name=fields["name"], key=self.key_from(request, fields))
        if request.query_params.get("rename") in ("1", "true") and fields["name"] != str(stream.pk):
            # nginx-rtmp renames the stream to the Location of a 3xx answer to on_publish, so
            # HLS is written under the public id, not under the secret key.
            return HttpResponseRedirect(str(stream.pk))
        return Response({"status": "ok", "stream_id": stream.pk})


class PublishDoneHookView(MediaHookView):
    @extend_schema(
        summary="nginx-rtmp on_publish_done: the stream ends (idempotent)",
        request={"application/x-www-form-urlencoded": RtmpHookSerializer},
        responses={200: HookResultSerializer},
    )
    def post(self, request: Request) -> Response:
        fields = self.rtmp_fields(request)
        stream = services.stream_publish_done(name=fields["name"])
        return Response({"status": "ended", "stream_id": stream.pk})


class UpdateHookView(MediaHookView):
    @extend_schema(
        summary="nginx-rtmp on_update heartbeat: 2xx keeps publishing, 403 drops an ended stream",
        request={"application/x-www-form-urlencoded": RtmpHookSerializer},
        responses={200: HookResultSerializer},
    )
    def post(self, request: Request) -> Response:
        fields = self.rtmp_fields(request)
        if fields["call"] == "update_play":  # a player's heartbeat: nothing to record
            return Response({"status": "ok"})
        stream = services.stream_heartbeat(name=fields["name"])
        return Response({"status": "ok", "stream_id": stream.pk})


class MediaMtxAuthHookView(MediaHookView):
    @extend_schema(
        summary="MediaMTX HTTP auth: publish with a valid key, read of a live stream → 2xx; else 403",
        request={"application/json": MediaMtxAuthSerializer},
        responses={200: HookResultSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = MediaMtxAuthSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        stream = services.mediamtx_authorize(
            action=data["action"], path=data["path"], query=data["query"], password=data["password"]
        )
        return Response({"status": "ok", "stream_id": stream.pk})
