"""JWT pairs (simplejwt) with rotation, blacklist and race-safe refresh.

simplejwt's own refresh view checks the blacklist and then blacklists in two steps, so two
concurrent refreshes of one token can both pass. Here the token's ``OutstandingToken`` row
is locked (``SELECT ... FOR UPDATE``; ``order_by()`` drops the model's default ordering
by ``user``, whose outer join Postgres will not lock) before the blacklist is checked and written, so
exactly one of them rotates it.
"""

from __future__ import annotations

from typing import TypedDict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from soukloop import events
from soukloop.errors import DomainError


class Unauthorized(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "token_not_valid"
    default_detail = _("The token is invalid or expired.")


class TokenPair(TypedDict):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def issue_tokens(*, user: User) -> TokenPair:
    """A fresh access/refresh pair; the refresh token is recorded as outstanding."""
    refresh = RefreshToken.for_user(user)
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
        "expires_in": int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def _decode_refresh(raw: str) -> dict:
    """Signature, expiry and type checked; raises ``Unauthorized``."""
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        raise Unauthorized()
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # takes the encoded str
    except TokenBackendError as exc:
        raise Unauthorized() from exc
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or not payload.get(api_settings.JTI_CLAIM):
        raise Unauthorized()
    return payload


def _lock_outstanding(payload: dict) -> OutstandingToken | None:
    return (
        OutstandingToken.objects.select_for_update(of=("self",))
        .order_by()
        .filter(jti=payload[api_settings.JTI_CLAIM])
        .first()
    )


@transaction.atomic
def tokens_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: the presented refresh token is blacklisted and a new pair issued.

    A used, logged-out or revoked token, or one whose user is gone or deactivated → 401.
    """
    payload = _decode_refresh(refresh_token)
    outstanding = _lock_outstanding(payload)
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise Unauthorized()
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    if not user_id:
        raise Unauthorized()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or outstanding.user_id != user.pk:
        raise Unauthorized(_("The account is not available."), code="user_inactive")
    BlacklistedToken.objects.create(token=outstanding)
    return issue_tokens(user=user)


@transaction.atomic
def tokens_logout(*, refresh_token: str) -> None:
    """Blacklist one refresh token; idempotent for a token already blacklisted."""
    payload = _decode_refresh(refresh_token)
    outstanding = _lock_outstanding(payload)
    if outstanding is None:
        raise Unauthorized()
    BlacklistedToken.objects.get_or_create(token=outstanding)


@transaction.atomic
def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every live refresh token of ``user`` (password change/reset, deactivation)."""
    live = list(
        OutstandingToken.objects.select_for_update(of=("self",))
        .order_by()
        .filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
        .values_list("pk", flat=True)
    )
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in live], ignore_conflicts=True)
    # Open sockets (realtime) close too: a new password or a deactivation ends every session.
    events.publish("user.signed_out", channel=f"user:{user.pk}", data={"user_id": str(user.pk)})
    return len(live)
