"""Domain errors raised by services, and how the API renders them.

Services raise these (never DRF exceptions), each with a stable machine ``code`` such as
``offer_not_pending`` or ``product_sold``. The exception handler below converts them to DRF
exceptions so drf-standardized-errors renders the contract's shape::

    {"type": "client_error", "errors": [{"code": "product_sold", "detail": "...", "attr": null}]}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.utils.encoding import force_str
from django_redis.exceptions import ConnectionInterrupted
from drf_standardized_errors.handler import ExceptionHandler as StandardExceptionHandler
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code: str = "error"
    default_detail: Any = "The request could not be completed."  # str, or a lazy translation

    def __init__(self, detail: Any = None, *, code: str | None = None, attr: str | None = None) -> None:
        self.detail = force_str(detail) if detail is not None else force_str(self.default_detail)
        self.code = code or self.default_code
        self.attr = attr
        super().__init__(self.detail)


class ValidationError(DomainError):
    """Input that breaks a business rule; ``attr`` names the field when there is one."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "Invalid input."


class NotFound(DomainError):
    """Also used for someone else's private object: never leak that it exists."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class PermissionDenied(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class Conflict(DomainError):
    """A state the request cannot apply to (offer no longer pending, item sold...)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class ServiceUnavailable(DomainError):
    """A dependency (payment provider, storage) failed; safe to retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A service this request needs is unavailable. Try again shortly."


class TooManyRequests(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"
    default_detail = "Too many requests."

    def __init__(self, detail: Any = None, *, wait: int | None = None, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.wait = wait


class _APIDomainError(exceptions.APIException):
    def __init__(self, error: DomainError) -> None:
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)
        self.wait = getattr(error, "wait", None)


def _to_drf(exc: DomainError) -> exceptions.APIException:
    if isinstance(exc, ValidationError):
        field = exc.attr or "non_field_errors"
        return exceptions.ValidationError({field: [exceptions.ErrorDetail(exc.detail, code=exc.code)]})
    if isinstance(exc, TooManyRequests):
        throttled = exceptions.Throttled(wait=exc.wait, detail=exc.detail, code=exc.code)
        return throttled
    return _APIDomainError(exc)


class ExceptionHandler(StandardExceptionHandler):
    """drf-standardized-errors, taught about domain errors and Django's ValidationError."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):
            return _to_drf(exc)
        if isinstance(exc, DataError):
            # The database refused a value (NUL in text, a number out of range): the input's fault.
            logger.warning("database refused a value: %s", type(exc).__name__)
            return exceptions.ValidationError({"non_field_errors": ["A value in this request is not acceptable."]})
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionInterrupted):
            # Redis (cache, OTP store, counters) unreachable: the caller may retry, it is not a bug.
            logger.warning("Redis unreachable: %s answered 503", type(exc).__name__)
            return _to_drf(ServiceUnavailable())
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                return exceptions.ValidationError(
                    {field: [force_str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
                )
            return exceptions.ValidationError([force_str(m) for m in exc.messages])
        return super().convert_known_exceptions(exc)
