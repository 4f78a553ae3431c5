"""The OpenAPI document's error responses, described once.

Every 4xx/5xx body has one shape (drf-standardized-errors'). Describing it per operation
repeated an enum of codes and field names for each endpoint (387 components, 1.2 MB), which
generated clients could not use. Here every operation's error statuses point at one
``Error`` component; the codes an operation can answer are in its description.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.renderers import JSONRenderer

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every 4xx/5xx answer. `type` is validation_error (400 with one entry per bad field), "
    "client_error or server_error; each error has a stable machine `code`.",
    "properties": {
        "type": {"type": "string", "enum": ["validation_error", "client_error", "server_error"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                    "attr": {"type": "string", "nullable": True},
                },
                "required": ["code", "detail", "attr"],
            },
        },
    },
    "required": ["type", "errors"],
}

_DESCRIPTIONS = {
    "400": "Invalid input (validation_error) or a rule of the request broken.",
    "401": "Missing or invalid credentials.",
    "403": "Signed in, but not allowed (wrong role).",
    "404": "Not found, or someone else's private object.",
    "409": "The request conflicts with the current state.",
    "422": "The Idempotency-Key was used with another request.",
    "429": "Throttled; see Retry-After.",
    "503": "A dependency is unavailable; retry shortly.",
}
_DEFAULT_ERRORS = ("400", "401", "404", "429")


def describe_errors_once(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: one ``Error`` component for every error response."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status in {*(s for s in responses if s[:1] in "45"), *_DEFAULT_ERRORS}:
                existing = responses.get(status) or {}
                responses[status] = {
                    "description": existing.get("description") or _DESCRIPTIONS.get(status, "Error."),
                    "content": ref,
                }
    return result


def anonymous_means_no_requirement(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """An operation that anonymous callers may use (drf-spectacular writes ``security: [{}]``, or
    ``[{"jwtAuth": []}, {}]`` when a token is optional) says ``security: []``.

    Generators read any non-empty list as "a token is required": openapi-python-client 0.29 then
    types sign-up and sign-in as needing an ``AuthenticatedClient``, whose empty token is a 401.
    With ``[]`` they take either client; a signed-in client still sends its token, which these
    endpoints use when present (the description of each says what it changes)."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in ("get", "post", "put", "patch", "delete") and {} in (operation.get("security") or []):
                operation["security"] = []
    return result


def attach_examples(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Request and response examples from each app's ``openapi_examples.EXAMPLES``
    (``{operationId: {"request": {name: body}, "201": {name: body}, ...}}``), so an app's
    examples live beside its code without touching its views. A test validates every example
    against the schema it illustrates (tests/soukloop/test_schema_examples.py)."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    examples: dict[str, dict[str, dict[str, Any]]] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.openapi_examples"
        if find_spec(module_name) is not None:
            examples.update(import_module(module_name).EXAMPLES)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            wanted = examples.get(operation.get("operationId", "")) if isinstance(operation, dict) else None
            if not wanted:
                continue
            for where, named in wanted.items():
                shown = {name: {"summary": name.replace("_", " "), "value": value} for name, value in named.items()}
                # copies all the way down: error responses share one object across operations
                if where == "request":
                    holder = operation.get("requestBody")
                    if holder is None:
                        continue
                    operation["requestBody"] = holder = {**holder}
                else:
                    responses = operation.get("responses", {})
                    if where not in responses:
                        continue
                    responses[where] = holder = {**responses[where]}
                holder["content"] = {
                    media_type: {**media, "examples": shown} for media_type, media in holder.get("content", {}).items()
                }
    return result


class CompactOpenApiJsonRenderer(OpenApiJsonRenderer):
    """The OpenAPI document as JSON without drf-spectacular's default 4-space indentation (it
    was 60% of the bytes); a client that wants it pretty asks for ``indent`` in Accept."""

    def get_indent(self, accepted_media_type: Any, renderer_context: Any) -> Any:
        return JSONRenderer.get_indent(self, accepted_media_type, renderer_context)


class CompactOpenApiJsonRenderer2(CompactOpenApiJsonRenderer):
    media_type = "application/json"
