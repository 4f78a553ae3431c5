"""One log line per request with the route template, status, duration, user id and request id;
X-Request-ID accepted from the proxy or made, and returned (clients and operability issue)."""

from __future__ import annotations

import json
import logging

import pytest

from soukloop.logs import JsonFormatter
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_request_id_from_the_proxy_is_returned_and_logged(api_client, caplog):
    product = ProductFactory()
    caplog.set_level(logging.INFO, logger="soukloop.request")

    response = api_client.get(f"/api/v1/products/{product.pk}/?q=secret-ish", HTTP_X_REQUEST_ID="edge-42")

    assert response["X-Request-ID"] == "edge-42"
    (line,) = [r for r in caplog.records if r.name == "soukloop.request"]
    assert (line.method, line.status, line.request_id) == ("GET", 200, "edge-42")
    assert line.route == "api/v1/products/<pk>/" or "<pk>" in line.route
    rendered = JsonFormatter().format(line)
    assert str(product.pk) not in rendered and "secret-ish" not in rendered
    assert json.loads(rendered)["route"] == line.route


def test_a_missing_or_hostile_request_id_is_replaced(api_client):
    made = api_client.get("/healthz")
    hostile = api_client.get("/healthz", HTTP_X_REQUEST_ID="x" * 200 + "\nforged")

    assert len(made["X-Request-ID"]) == 32
    assert "forged" not in hostile["X-Request-ID"] and len(hostile["X-Request-ID"]) == 32


def test_the_log_line_names_the_user_by_id_and_never_carries_the_token(auth_client, caplog):
    from tests.factories import UserFactory

    person = UserFactory(username="layla_logs", phone="+971551112277")
    client = auth_client(person)
    caplog.set_level(logging.INFO)

    client.get("/api/v1/auth/me/")

    (line,) = [r for r in caplog.records if r.name == "soukloop.request"]
    rendered = JsonFormatter().format(line)
    assert line.user_id == str(person.pk)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert token not in everything and "+971551112277" not in everything and "layla_logs" not in rendered
