"""Domain errors from services render in the contract's shape, in English or Arabic."""

from __future__ import annotations

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from soukloop import errors


def _view_raising(exc: Exception):
    class Raising(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]
        throttle_classes: list = []

        def get(self, request):
            raise exc

    return Raising.as_view()


@pytest.mark.parametrize(
    ("exc", "status", "error_type", "code", "attr"),
    [
        (errors.Conflict("The item is sold.", code="product_sold"), 409, "client_error", "product_sold", None),
        (errors.NotFound(), 404, "client_error", "not_found", None),
        (errors.PermissionDenied(code="seller_only"), 403, "client_error", "seller_only", None),
        (
            errors.ValidationError("Too low.", code="price_too_low", attr="price"),
            400,
            "validation_error",
            "price_too_low",
            "price",
        ),
    ],
)
def test_domain_errors_render_in_the_contract_shape(exc, status, error_type, code, attr):
    request = APIRequestFactory().get("/x")

    response = _view_raising(exc)(request)

    assert response.status_code == status
    assert response.data["type"] == error_type
    assert response.data["errors"][0]["code"] == code
    assert response.data["errors"][0]["attr"] == attr


def test_too_many_requests_sets_retry_after():
    request = APIRequestFactory().get("/x")

    response = _view_raising(errors.TooManyRequests(wait=120, code="otp_rate_limited"))(request)

    assert response.status_code == 429
    assert response["Retry-After"] == "120"
    assert response.data["errors"][0]["code"] == "otp_rate_limited"


def test_unexpected_exceptions_are_500_in_the_shape_without_leaking_details():
    request = APIRequestFactory().get("/x")

    response = _view_raising(RuntimeError("password=hunter2"))(request)

    assert response.status_code == 500
    assert response.data["type"] == "server_error"
    assert "hunter2" not in str(response.data)


def test_unauthenticated_request_is_401_with_bearer_challenge(api_client, db):
    """Any authenticated endpoint; the schema endpoint is public, so use the default policy."""
    from rest_framework.permissions import IsAuthenticated
    from rest_framework_simplejwt.authentication import JWTAuthentication

    class Private(APIView):
        authentication_classes = [JWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request):
            return None

    request = APIRequestFactory().get("/x", HTTP_ACCEPT_LANGUAGE="ar")
    response = Private.as_view()(request)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.data["errors"][0]["code"] == "not_authenticated"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_method_on_an_unknown_api_path_is_a_404_in_the_error_shape(method):
    from django.test import Client

    response = getattr(Client(enforce_csrf_checks=True), method)("/api/v1/nonexistent/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
