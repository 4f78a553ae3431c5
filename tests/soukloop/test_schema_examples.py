"""What the schema promises is what the API does: every example in /api/schema/ validates
against the schema it illustrates, and real responses of the main endpoints validate against
their documented 2xx schemas (types, formats, nullability: what broke generated clients)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tests.factories import ProductFactory, UserFactory
from tests.trust.helpers import completed_sale

pytestmark = pytest.mark.django_db


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect → JSON Schema: ``nullable: true`` becomes ``null`` allowed."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _validator(schema: dict, media_schema: dict) -> Draft7Validator:
    root = {"allOf": [_json_schema(media_schema)], "components": _json_schema(schema["components"])}
    return Draft7Validator(root, format_checker=FormatChecker())


def _examples(schema: dict) -> list[tuple[str, str, str, Any, dict]]:
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += list(operation.get("responses", {}).items())
            for where, holder in bodies:
                for media in holder.get("content", {}).values():
                    for name, example in media.get("examples", {}).items():
                        found.append((f"{method.upper()} {path} {where} {name}", where, name, example["value"], media))
    return found


def test_every_example_is_valid_for_its_schema(schema):
    examples = _examples(schema)
    assert len(examples) >= 12  # the main requests and responses of each app
    operations = {label.split(" ")[1] for label, *_ in examples}
    for prefix in (
        "auth",
        "products",
        "offers",
        "payments",
        "streams",
        "transactions",
        "claims",
        "verification",
        "devices",
    ):
        assert any(f"/api/v1/{prefix}" in path for path in operations), prefix
    problems = []
    for label, _where, _name, value, media in examples:
        errors = sorted(_validator(schema, media["schema"]).iter_errors(value), key=str)
        problems += [f"{label}: {error.message}" for error in errors]
    assert problems == []


def _operation(schema: dict, path: str) -> dict:
    for template, item in schema["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and "get" in item:
            return item["get"]
    raise AssertionError(f"{path} is not in the schema")


def test_real_responses_validate_against_their_documented_schemas(schema, auth_client):
    seller, buyer = UserFactory(username="noura_s"), UserFactory(username="hamdan_b")
    product = ProductFactory(seller=seller)
    ProductFactory(seller=seller, is_available=False)
    tx = completed_sale(buyer=buyer, seller=seller)
    client = auth_client(buyer)
    paths = [
        "/api/v1/products/?lat=25.2&lng=55.27&radius_km=10",
        f"/api/v1/products/{product.pk}/",
        "/api/v1/auth/me/",
        f"/api/v1/users/{seller.username}/",
        f"/api/v1/users/{seller.username}/products/",
        "/api/v1/feeds/discover/",
        "/api/v1/offers/?role=buyer",
        "/api/v1/conversations/",
        "/api/v1/transactions/",
        f"/api/v1/transactions/{tx.pk}/",
        "/api/v1/notifications/",
        "/api/v1/streams/",
        "/api/v1/claims/",
        "/api/v1/categories/",
        "/api/v1/payments/fees/?amount=149&feed_type=discover",
    ]
    problems = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        documented = _operation(schema, path.split("?")[0])["responses"]["200"]["content"]["application/json"]["schema"]
        errors = sorted(_validator(schema, documented).iter_errors(response.json()), key=str)
        problems += [f"{path}: {'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors]
    assert problems == []
