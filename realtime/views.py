from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime.serializers import TicketSerializer
from realtime.tickets import ticket_issue


class TicketView(APIView):
    """Trade the JWT for a socket ticket; without a JWT, a viewer-only ticket (public streams)."""

    permission_classes = (AllowAny,)

    @extend_schema(
        summary="A single-use WebSocket ticket, valid 60 s (anonymous: viewer-only)",
        request=None,
        responses={200: TicketSerializer},
    )
    def post(self, request: Request) -> Response:
        user = request.user if request.user.is_authenticated else None
        response = Response(TicketSerializer(ticket_issue(user=user)).data)
        response["Cache-Control"] = "no-store"
        return response
