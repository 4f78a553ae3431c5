"""``Idempotency-Key`` on creating endpoints (messages, offers, checkout): a retry of the same
request returns the first answer instead of doing it twice (five identical parallel POSTs
stored five messages).

- The key is per signed-in caller and endpoint (``scope``), kept ``IDEMPOTENCY_TTL_HOURS``.
- The same key with a different body is a 422 ``idempotency_key_reused``; a repeat while the
  first request is still running is a 409 ``idempotency_request_in_progress`` (as Stripe does).
- A successful answer (2xx) is stored and replayed with its status and body. A request that
  fails (an error raised by the view) stores nothing, so a corrected retry is not blocked.
- Without the header nothing changes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from soukloop.errors import Conflict, DomainError, ValidationError
from soukloop.models import IdempotencyKey

HEADER = "Idempotency-Key"


class KeyReused(DomainError):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


def _fingerprint(request: Request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _valid_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise ValidationError("Idempotency-Key must be 1 to 255 printable characters.", code="invalid", attr=HEADER)
    return key


def _claim(*, user: Any, scope: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the in-progress marker; ``None`` when this request is the first with the key,
    else the existing record (which may be in progress)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    IdempotencyKey.objects.filter(user=user, scope=scope, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, scope=scope, key=key, fingerprint=fingerprint)
        return None
    except IntegrityError:
        return IdempotencyKey.objects.get(user=user, scope=scope, key=key)


def idempotent(scope: str) -> Callable:
    """Decorate a view method; only POSTs by signed-in callers carrying the header are affected."""

    def decorate(view_method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view_method)
        def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            raw = request.headers.get(HEADER)
            if raw is None or request.method != "POST" or not request.user.is_authenticated:
                return view_method(self, request, *args, **kwargs)
            key = _valid_key(raw)
            fingerprint = _fingerprint(request)
            existing = _claim(user=request.user, scope=scope, key=key, fingerprint=fingerprint)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise KeyReused()
                if existing.status_code is None:
                    raise Conflict(
                        "A request with this Idempotency-Key is still being processed.",
                        code="idempotency_request_in_progress",
                    )
                return Response(existing.body, status=existing.status_code, headers={"Idempotent-Replayed": "true"})
            try:
                response = view_method(self, request, *args, **kwargs)
            except BaseException:
                IdempotencyKey.objects.filter(user=request.user, scope=scope, key=key).delete()
                raise
            if 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(user=request.user, scope=scope, key=key).update(
                    status_code=response.status_code, body=response.data
                )
            else:
                IdempotencyKey.objects.filter(user=request.user, scope=scope, key=key).delete()
            return response

        return wrapper

    return decorate
