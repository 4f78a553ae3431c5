from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from discovery import selectors, services
from discovery.models import SavedSearch
from discovery.serializers import SavedSearchSerializer, SavedSearchWriteSerializer
from soukloop.pagination import StandardCursorPagination

UUID_REGEX = "[0-9a-fA-F-]{36}"


@extend_schema_view(
    list=extend_schema(summary="My saved searches, newest first"),
    create=extend_schema(
        summary="Save a search (up to 20); new matching listings are announced at most every 15 minutes",
        request=SavedSearchWriteSerializer,
        responses={201: SavedSearchSerializer},
    ),
    destroy=extend_schema(summary="Delete a saved search", responses={204: None}),
)
class SavedSearchViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = SavedSearchSerializer
    pagination_class = StandardCursorPagination
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "delete", "head", "options"]
    queryset = SavedSearch.objects.none()

    def get_queryset(self):
        return selectors.saved_searches_of(user=self.request.user)

    def create(self, request: Request) -> Response:
        serializer = SavedSearchWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        search = services.saved_search_create(user=request.user, **serializer.validated_data)
        return Response(SavedSearchSerializer(search).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        services.saved_search_delete(user=request.user, search_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
