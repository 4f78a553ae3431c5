"""Auth and Users endpoints: validate → one service/selector → serialize."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.models import User
from accounts.serializers import (
    AuthResponseSerializer,
    ChangePasswordSerializer,
    DetailSerializer,
    ForgotPasswordSerializer,
    LocationUpdateSerializer,
    LoginSerializer,
    MeUpdateSerializer,
    PublicProfileSerializer,
    PublicUserSerializer,
    RefreshSerializer,
    RegisterSerializer,
    ResetPasswordSerializer,
    SendOTPSerializer,
    TokenPairSerializer,
    UserDetailSerializer,
    VerifiedSerializer,
    VerifyOTPSerializer,
)
from accounts.tokens import issue_tokens, tokens_logout, tokens_refresh
from soukloop.clientip import client_ip
from soukloop.errors import NotFound
from soukloop.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

_PUBLIC = {"permission_classes": [AllowAny], "authentication_classes": []}
_SIGNED_IN_ACTIONS = {"me", "me_location", "change_password"}


def _auth_response(user: User, status_code: int) -> Response:
    body = {**issue_tokens(user=user), "user": UserDetailSerializer(user).data}
    return Response(body, status=status_code)


class AuthViewSet(viewsets.GenericViewSet):
    """``/api/v1/auth/...``: sign-up, sign-in, codes, tokens, passwords and the own profile."""

    throttle_scope = "auth"

    def get_throttles(self):
        if self.action in _SIGNED_IN_ACTIONS:
            return [UserRateThrottle()]
        # Per-IP ceiling on the credential endpoints, on top of the per-identifier limits.
        return [AnonRateThrottle(), ScopedRateThrottle()]

    @extend_schema(request=RegisterSerializer, responses={201: AuthResponseSerializer})
    @action(detail=False, methods=["post"], **_PUBLIC)
    def register(self, request: Request) -> Response:
        data = _valid(RegisterSerializer, request)
        language = "ar" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("ar") else "en"
        user = services.user_register(**data, source=client_ip(request), language=language)
        return _auth_response(user, status.HTTP_201_CREATED)

    @extend_schema(request=LoginSerializer, responses={200: AuthResponseSerializer, 401: None, 429: None})
    @action(detail=False, methods=["post"], **_PUBLIC)
    def login(self, request: Request) -> Response:
        data = _valid(LoginSerializer, request)
        user = services.user_authenticate(
            identifier=data["identifier"], password=data["password"], source=client_ip(request)
        )
        return _auth_response(user, status.HTTP_200_OK)

    @extend_schema(request=SendOTPSerializer, responses={202: DetailSerializer, 429: None})
    @action(detail=False, methods=["post"], url_path="send-otp", **_PUBLIC)
    def send_otp(self, request: Request) -> Response:
        data = _valid(SendOTPSerializer, request)
        services.otp_send(phone=data.get("phone") or None, email=data.get("email") or None, source=client_ip(request))
        return Response({"detail": _("If the account exists, a code is on its way.")}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=VerifyOTPSerializer, responses={200: VerifiedSerializer})
    @action(detail=False, methods=["post"], url_path="verify-otp", **_PUBLIC)
    def verify_otp(self, request: Request) -> Response:
        data = _valid(VerifyOTPSerializer, request)
        user = services.otp_verify(
            code=data["otp_code"], phone=data.get("phone") or None, email=data.get("email") or None
        )
        return Response({"is_verified": user.is_verified})

    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer, 401: None})
    @action(detail=False, methods=["post"], **_PUBLIC)
    def refresh(self, request: Request) -> Response:
        data = _valid(RefreshSerializer, request)
        return Response(tokens_refresh(refresh_token=data["refresh_token"]))

    @extend_schema(request=RefreshSerializer, responses={204: None, 401: None})
    @action(detail=False, methods=["post"], **_PUBLIC)
    def logout(self, request: Request) -> Response:
        data = _valid(RefreshSerializer, request)
        tokens_logout(refresh_token=data["refresh_token"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ForgotPasswordSerializer, responses={202: DetailSerializer})
    @action(detail=False, methods=["post"], url_path="forgot-password", **_PUBLIC)
    def forgot_password(self, request: Request) -> Response:
        data = _valid(ForgotPasswordSerializer, request)
        services.password_reset_request(email=data["email"])
        return Response(
            {"detail": _("If an account uses this email, a reset token is on its way.")},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(request=ResetPasswordSerializer, responses={200: DetailSerializer})
    @action(detail=False, methods=["post"], url_path="reset-password", **_PUBLIC)
    def reset_password(self, request: Request) -> Response:
        data = _valid(ResetPasswordSerializer, request)
        services.password_reset_confirm(token=data["token"], new_password=data["new_password"])
        return Response({"detail": _("Your password has been reset. Sign in with the new one.")})

    @extend_schema(request=ChangePasswordSerializer, responses={200: TokenPairSerializer})
    @action(detail=False, methods=["post"], url_path="change-password", permission_classes=[IsAuthenticated])
    def change_password(self, request: Request) -> Response:
        """Every other session is signed out; the answer carries this device's new tokens."""
        data = _valid(ChangePasswordSerializer, request)
        user = services.password_change(user=request.user, **data)
        return Response(issue_tokens(user=user))

    @extend_schema(methods=["GET"], responses={200: UserDetailSerializer})
    @extend_schema(methods=["PATCH"], request=MeUpdateSerializer, responses={200: UserDetailSerializer})
    @action(detail=False, methods=["get", "patch"], permission_classes=[IsAuthenticated])
    def me(self, request: Request) -> Response:
        if request.method == "PATCH":
            data = _valid(MeUpdateSerializer, request, partial=True)
            services.user_update_profile(user=request.user, **data)
        return Response(UserDetailSerializer(request.user).data)

    @extend_schema(request=LocationUpdateSerializer, responses={200: UserDetailSerializer})
    @action(detail=False, methods=["put"], url_path="me/location", permission_classes=[IsAuthenticated])
    def me_location(self, request: Request) -> Response:
        data = _valid(LocationUpdateSerializer, request)
        user = services.user_set_location(user=request.user, **data)
        return Response(UserDetailSerializer(user).data)


def _valid(serializer_class, request: Request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


_LIST_PARAMS = {"responses": {200: PublicUserSerializer(many=True)}}


@extend_schema_view(retrieve=extend_schema(responses={200: PublicProfileSerializer, 404: None}))
class UserViewSet(viewsets.GenericViewSet):
    """``/api/v1/users/{username}/...``: public profiles, follows and blocks."""

    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    serializer_class = PublicUserSerializer
    queryset = User.objects.none()

    def get_permissions(self):
        if self.action in ("retrieve", "followers", "following"):
            return [AllowAny()]
        return [IsAuthenticated()]

    def _target(self) -> User:
        user = selectors.user_get_active(username=self.kwargs["username"])
        if user is None:
            raise NotFound(_("No such person."), code="user_not_found")
        return user

    def retrieve(self, request: Request, username: str) -> Response:
        user = selectors.user_profile_get(username=username, viewer=request.user)
        if user is None:
            raise NotFound(_("No such person."), code="user_not_found")
        return Response(PublicProfileSerializer(user).data)

    @extend_schema(methods=["POST", "DELETE"], request=None, responses={204: None, 400: None, 404: None})
    @action(detail=True, methods=["post", "delete"])
    def follow(self, request: Request, username: str) -> Response:
        target = self._target()
        if request.method == "POST":
            services.follow_create(follower=request.user, following=target)
        else:
            services.follow_delete(follower=request.user, following=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["POST", "DELETE"], request=None, responses={204: None, 400: None, 404: None})
    @action(detail=True, methods=["post", "delete"])
    def block(self, request: Request, username: str) -> Response:
        target = self._target()
        if request.method == "POST":
            services.block_create(blocker=request.user, blocked=target)
        else:
            services.block_delete(blocker=request.user, blocked=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(**_LIST_PARAMS)
    @action(detail=True, methods=["get"])
    def followers(self, request: Request, username: str) -> Response:
        follows = self.paginate_queryset(selectors.followers_of(user=self._target()))
        return self.get_paginated_response(PublicUserSerializer([f.follower for f in follows], many=True).data)

    @extend_schema(**_LIST_PARAMS)
    @action(detail=True, methods=["get"])
    def following(self, request: Request, username: str) -> Response:
        follows = self.paginate_queryset(selectors.following_of(user=self._target()))
        return self.get_paginated_response(PublicUserSerializer([f.following for f in follows], many=True).data)
