from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from catalog import attributes, media, personalisation, selectors, services
from catalog.models import Category, Product
from catalog.pagination import CommunityKeysetPagination, DiscoverCursorPagination, UncountedPagePagination
from catalog.params import openapi_parameters, parse_search_params, search_args
from catalog.serializers import (
    CategorySerializer,
    CommunityPageSerializer,
    LikedProductSerializer,
    MediaSerializer,
    MediaUploadSerializer,
    ProductDetailSerializer,
    ProductListSerializer,
    ProductSearchSerializer,
    ProductWriteSerializer,
    liked_product_rows,
    product_list_rows,
)
from soukloop.clientip import client_ip
from soukloop.errors import NotFound, ValidationError
from soukloop.geo import make_point
from soukloop.throttling import ScopedRateThrottle

UUID_REGEX = "[0-9a-fA-F-]{36}"


def _user(request: Request) -> Any:
    return request.user if request.user.is_authenticated else None


@extend_schema_view(
    list=extend_schema(
        summary="Search and filter listings",
        responses=ProductListSerializer(many=True),
        # From the table the parser reads (catalog.params), so the two cannot drift apart.
        parameters=openapi_parameters(),
    ),
    retrieve=extend_schema(summary="A listing (counts one view)", responses=ProductDetailSerializer),
    create=extend_schema(
        summary="List an item (sellers)", request=ProductWriteSerializer, responses={201: ProductDetailSerializer}
    ),
    partial_update=extend_schema(
        summary="Change my listing", request=ProductWriteSerializer, responses=ProductDetailSerializer
    ),
    destroy=extend_schema(summary="Delete my listing (hidden if it has chats or payments)", responses={204: None}),
)
class ProductViewSet(
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Product.objects.none()
    serializer_class = ProductListSerializer
    pagination_class = UncountedPagePagination
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [IsAuthenticated()]

    def list(self, request: Request) -> Response:
        # One parser (every bad parameter is a 400 naming it) and one builder of the search.
        data = parse_search_params(request.query_params)
        source = selectors.search_page_source(
            search_args(data),
            ordering=data.get("ordering") or "newest",
            include_sold=bool(data.get("include_sold")),
            user=_user(request),
        )
        page = self.paginate_queryset(source)
        return self.get_paginated_response(product_list_rows(page))

    def _get_product(self) -> Product:
        product = selectors.product_detail(product_id=self.kwargs["pk"], user=_user(self.request))
        if product is None:
            raise NotFound(_("This listing does not exist."), code="product_not_found")
        return product

    def _detail(self, product: Product, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.product_detail(product_id=product.pk, user=_user(self.request))
        return Response(ProductDetailSerializer(fresh).data, status=status_code)

    def create(self, request: Request) -> Response:
        services.ensure_can_sell(user=request.user)  # role first: a buyer gets 403 whatever the body
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(seller=request.user, **serializer.validated_data)
        return self._detail(product, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        product = self._get_product()
        viewer = f"user:{request.user.pk}" if request.user.is_authenticated else f"ip:{client_ip(request)}"
        services.product_register_view(product=product, viewer=viewer)
        return Response(ProductDetailSerializer(product).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        product = self._get_product()
        serializer = ProductWriteSerializer(product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product=product, user=request.user, data=serializer.validated_data)
        return self._detail(product)

    def destroy(self, request: Request, pk: str) -> Response:
        services.product_delete(product=self._get_product(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Like / unlike (idempotent)", request=None, responses={204: None})
    @action(detail=True, methods=["post", "delete"])
    def like(self, request: Request, pk: str) -> Response:
        product = self._get_product()
        if request.method == "POST":
            services.product_like(product=product, user=request.user)
        else:
            services.product_unlike(product=product, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Mark my listing sold", request=None, responses=ProductDetailSerializer)
    @action(detail=True, methods=["post"], url_path="mark-sold")
    def mark_sold(self, request: Request, pk: str) -> Response:
        product = services.product_mark_sold_by_owner(product=self._get_product(), user=request.user)
        return self._detail(product)


class CategoryListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The 12 categories, labels in the request's language", responses=CategorySerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        data = [
            {"key": key, "label": str(label), "attributes": attributes.describe(key)} for key, label in Category.choices
        ]
        return Response(CategorySerializer(data, many=True).data)


FEED_PARAMETERS = [
    OpenApiParameter("lat", OpenApiTypes.DOUBLE, description="Latitude (community: default the saved location)"),
    OpenApiParameter("lng", OpenApiTypes.DOUBLE, description="Longitude"),
    OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values),
]


class DiscoverFeedView(generics.ListAPIView):
    """Discover listings, ranked by freshness and popularity with time decay (catalog.ranking)."""

    permission_classes = [AllowAny]
    serializer_class = ProductListSerializer
    pagination_class = DiscoverCursorPagination
    filter_backends: list = []

    @extend_schema(
        parameters=[
            FEED_PARAMETERS[2],
            OpenApiParameter(
                "personalised",
                OpenApiTypes.BOOL,
                description="Signed in: true (default) blends your likes, follows, purchases, saved searches and "
                "area into the rank (docs/catalog.md); false gives everyone's feed. Anonymous: always everyone's.",
            ),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.discover_feed(user=_user(self.request), category=_category(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        personal = self._personal_page(request)
        if personal is not None:
            return personal
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(product_list_rows(page))

    def _personal_page(self, request: Request) -> Response | None:
        """The signed-in feed from the registered personaliser (catalog.personalisation)."""
        personaliser = personalisation.discover_personaliser()
        user = _user(request)
        wanted = request.query_params.get("personalised", "true").strip().lower() not in ("false", "0")
        if personaliser is None or user is None or not wanted:
            return None
        limit = self.paginator.get_page_size(request) if self.paginator else 20
        page = personaliser(
            user=user, category=_category(request), cursor=request.query_params.get("cursor"), limit=limit or 20
        )
        url = request.build_absolute_uri()
        next_link = replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None
        return Response({"next": next_link, "previous": None, "results": product_list_rows(page.rows)})


def _category(request: Request) -> str | None:
    category = request.query_params.get("category") or None
    if category is not None and category not in Category.values:
        raise ValidationError(_("Unknown category."), code="invalid_choice", attr="category")
    return category


class CommunityFeedView(APIView):
    """Community listings near the caller: same building, then neighbourhood, then distance."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            *FEED_PARAMETERS,
            OpenApiParameter("neighborhood", OpenApiTypes.STR, description="Default: the caller's saved one"),
            OpenApiParameter("building_name", OpenApiTypes.STR, description="Default: the caller's saved one"),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` link's cursor"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 100"),
        ],
        responses=CommunityPageSerializer,
    )
    def get(self, request: Request) -> Response:
        geo = parse_search_params(request.query_params)  # plainly valid: no serializer to build
        if geo is None:
            params = ProductSearchSerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            geo = params.validated_data
        user = _user(request)
        neighborhood = request.query_params.get("neighborhood", "")
        building = request.query_params.get("building_name", "")
        if "lat" in geo:
            point = make_point(latitude=float(geo["lat"]), longitude=float(geo["lng"]))
        elif user is not None and user.location is not None:
            point = user.location
            neighborhood = neighborhood or user.neighborhood
            building = building or user.building_name
        else:
            raise ValidationError(
                _("Send lat and lng, or save your location first."), code="location_required", attr="lat"
            )
        page = CommunityKeysetPagination(request)
        rows = selectors.community_feed_page(
            point=point,
            neighborhood=neighborhood[:100],
            building_name=building[:100],
            user=user,
            category=_category(request),
            after=page.after(),
            limit=page.limit,
        )
        return page.response(rows, product_list_rows(rows[: page.limit]))


class UserProductsView(generics.ListAPIView):
    """A person's available listings, newest first."""

    permission_classes = [AllowAny]
    serializer_class = ProductListSerializer
    pagination_class = UncountedPagePagination
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Product]:
        username = self.kwargs["username"]
        if not selectors.seller_exists(username=username):
            raise NotFound(_("This person does not exist."), code="user_not_found")
        return selectors.products_for_seller(username=username, user=_user(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(product_list_rows(page))


class MediaUploadView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "uploads"

    @extend_schema(
        summary="Upload a listing image or video",
        request={"multipart/form-data": MediaUploadSerializer},
        responses={201: MediaSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = MediaUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stored = media.media_store(upload=serializer.validated_data["file"])
        return Response(
            MediaSerializer({"url": stored.url, "content_type": stored.content_type, "size": stored.size}).data,
            status=status.HTTP_201_CREATED,
        )


class MyLikesView(generics.ListAPIView):
    """The listings I liked, newest like first; sold ones stay, marked ``is_sold``."""

    permission_classes = [IsAuthenticated]
    serializer_class = LikedProductSerializer
    pagination_class = UncountedPagePagination
    filter_backends: list = []

    @extend_schema(summary="Listings I liked, newest like first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.products_liked_by(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(liked_product_rows(page))
