"""Request parsing that a hostile body cannot turn into a 500.

- JSON nested deeper than ``MAX_JSON_DEPTH`` (5,000 brackets raised ``RecursionError`` deep in
  the standard library) and text containing NUL (PostgreSQL cannot store it in text columns)
  are a 400 ``parse_error`` before any view sees them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def check_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Walk a parsed value without recursion: depth and NUL characters."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ParseError("Text may not contain NUL characters.")
            continue
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_json_value(data)
        return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")
