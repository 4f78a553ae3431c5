from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework.pagination import CursorPagination, PageNumberPagination

from soukloop.errors import ValidationError


class StandardPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``?page_size=`` up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def _invalid_cursor() -> ValidationError:
    return ValidationError("Invalid cursor.", code="invalid_cursor", attr="cursor")


class StandardCursorPagination(CursorPagination):
    """Stable under inserts: no duplicates or gaps while new rows arrive.

    Subclasses set ``ordering`` to a unique, indexed sort (always ending in a unique field).
    A cursor is opaque but not signed: one that does not decode, or decodes to a position of
    the wrong type (``p=abc`` where a number is ordered on), is a 400 ``invalid_cursor``.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Any) -> Any:
        if "\x00" in (request.query_params.get(self.cursor_query_param) or ""):
            raise _invalid_cursor()
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound for any undecodable cursor
            raise _invalid_cursor() from exc

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DataError) as exc:
            raise _invalid_cursor() from exc
