"""Every query parameter of every GET endpoint, fed what a fuzzer feeds it (security review,
finding 11): NUL, huge, negative, non-numeric, out-of-range floats and cursors that decode to
nonsense. Whatever the value, the answer is never a 5xx, and a 4xx is in the error shape.

The endpoints and their parameters come from the OpenAPI document, so a new endpoint is
covered the day it is added."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "abc\x00def",
    "9" * 400,
    "-1",
    "-99999999999999999999",
    "abc",
    "1e400",
    "NaN",
    "",
    "%",
    "' OR 1=1 --",
    base64.b64encode(b"o=1&p=abc").decode(),
    base64.b64encode(b"o=99999999999999999999&r=1&p=2026-13-45").decode(),
    "!!!not-base64!!!",
]


def _get_operations() -> list[tuple[str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if not operation or not path.startswith("/api/v1/"):
            continue
        params = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
        found.append((path, params))
    return found


def _fill_path(path: str, *, username: str) -> str:
    path = path.replace("{username}", username)
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _assert_sane(response, what: str) -> None:
    assert response.status_code < 500, f"{what} → {response.status_code}"
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] in {"validation_error", "client_error"}, what
        assert body["errors"] and all("code" in e for e in body["errors"]), what


def test_no_query_value_makes_any_get_endpoint_fail():
    seller = UserFactory(username="hostile_seller")
    ProductFactory(seller=seller)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(UserFactory())
    operations = _get_operations()
    assert len(operations) > 20  # the document really listed the API

    for path, params in operations:
        url = _fill_path(path, username=seller.username)
        for name in [*params, "cursor", "page", "page_size"]:
            for value in HOSTILE:
                _assert_sane(client.get(url, {name: value}), f"GET {url}?{name}={value!r}")
        # with coordinates too, since several parameters only count next to lat/lng
        for value in HOSTILE:
            query = {"lat": "25.08", "lng": "55.14", "radius_km": value, "neighborhood": value}
            _assert_sane(client.get(url, query), f"GET {url} near with {value!r}")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/feeds/community/?lat=25&lng=55&neighborhood=%00",
        "/api/v1/feeds/discover/?cursor=bz0xJnA9YWJj",
    ],
)
def test_the_reported_anonymous_500s_are_400s(url):
    response = APIClient(raise_request_exception=False).get(url)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_a_json_body_nested_5000_deep_is_a_400():
    deep = "[" * 5000 + "]" * 5000

    response = APIClient(raise_request_exception=False).post(
        "/api/v1/auth/login/", data=deep, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_nul_inside_a_json_string_is_a_400_before_the_database_sees_it():
    response = APIClient(raise_request_exception=False).post(
        "/api/v1/auth/login/", data='{"identifier": "a\\u0000b", "password": "x"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


@pytest.mark.parametrize("path", ["/api/v1/auth/login/", "/api/v1/auth/register/", "/api/v1/auth/send-otp/"])
def test_options_is_a_200_on_the_auth_endpoints(path):
    response = APIClient(raise_request_exception=False).options(path)

    assert response.status_code == 200
