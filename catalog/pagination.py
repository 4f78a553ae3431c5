"""Pagination of listing lists.

- The products list pages by number but never counts: it fetches one row more than the page
  to know whether there is a next one (COUNT(*) over a large filtered set would cost more
  than the page itself).
- The feeds use keyset cursors over a stored or computed unique-enough sort key, so new
  listings arriving while someone scrolls never duplicate or skip items.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from soukloop.errors import ValidationError
from soukloop.pagination import StandardCursorPagination


class UncountedPagePagination(BasePagination):
    page_size = 20
    max_page_size = 100
    max_offset = 10_000
    page_query_param = "page"
    page_size_query_param = "page_size"

    def _positive_int(self, request: Request, name: str, default: int, cap: int | None = None) -> int:
        try:
            value = int(request.query_params.get(name, default))
        except (TypeError, ValueError):
            value = default
        value = max(1, value)
        return min(value, cap) if cap else value

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.size = self._positive_int(request, self.page_size_query_param, self.page_size, self.max_page_size)
        self.page = self._positive_int(request, self.page_query_param, 1)
        offset = (self.page - 1) * self.size
        if offset > self.max_offset:
            # Deep offsets cost a walk over every row before them (and a page number past
            # bigint was a database error): narrow the search instead.
            raise ValidationError(
                _("Results stop after %(count)s listings: narrow the search.") % {"count": self.max_offset},
                code="page_too_deep",
                attr=self.page_query_param,
            )
        rows = list(queryset[offset : offset + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.page + 1)

    def get_previous_link(self) -> str | None:
        if self.page <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.page == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.page - 1)

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number (1-based).",
                "schema": {"type": "integer"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, at most {self.max_page_size}.",
                "schema": {"type": "integer"},
            },
        ]


class DiscoverCursorPagination(StandardCursorPagination):
    ordering = ("-hot_score", "-id")


class CommunityKeysetPagination:
    """``?cursor=`` holds the last row's (tier, distance, id); ``next`` is null at the end.
    The feed scrolls forward only, so ``previous`` is always null."""

    page_size = 20
    max_page_size = 100

    def __init__(self, request: Request) -> None:
        self.request = request
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except ValueError:
            size = self.page_size
        self.limit = max(1, min(size, self.max_page_size))

    def after(self) -> tuple[int, float, str] | None:
        raw = self.request.query_params.get("cursor")
        if not raw:
            return None
        try:
            tier, metres, last_id = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
            return int(tier), float(metres), str(uuid.UUID(str(last_id)))
        except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
            raise ValidationError(_("Invalid cursor."), code="invalid_cursor", attr="cursor") from exc

    def response(self, rows: list[dict[str, Any]], data: list[Any]) -> Response:
        next_link = None
        if len(rows) > self.limit:
            last = rows[self.limit - 1]
            token = json.dumps([last["community_tier"], last["knn_metres"], str(last["id"])])
            cursor = base64.urlsafe_b64encode(token.encode()).decode()
            next_link = replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)
        return Response({"next": next_link, "previous": None, "results": data[: self.limit]})
