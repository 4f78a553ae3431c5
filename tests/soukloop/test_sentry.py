"""Error reports: the real sentry_sdk client, sending to a local stand-in of Sentry's ingest
endpoint, carries the error but none of the personal data around it."""

from __future__ import annotations

import gzip
import json

import pytest
import sentry_sdk
from werkzeug import Request, Response

from soukloop.sentry import init, scrub_text

PHONE = "+971501234567"
EMIRATES_ID = "784-1990-1234567-1"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiYWJjIn0.c2lnbmF0dXJlLXZhbHVl"
STREAM_KEY = "Xk3_9vQpL2mZ8rT5wY1nB7cD4fG6hJ0a"  # secrets.token_urlsafe(24)
STRIPE_KEY = "sk_live_51Habcdefghijklmnop"
EMAIL = "layla@example.ae"


@pytest.fixture
def sentry(httpserver):
    received: list[bytes] = []

    def ingest(request: Request) -> Response:
        body = request.get_data()
        received.append(gzip.decompress(body) if request.headers.get("Content-Encoding") == "gzip" else body)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_handler(ingest)
    init(dsn=f"http://public@{httpserver.host}:{httpserver.port}/1", environment="test")
    yield received
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def _fail_with_personal_data_around() -> None:
    phone_number = PHONE  # a local named after what it holds
    note = f"buyer {EMAIL} called from {PHONE} about ID {EMIRATES_ID} with Bearer {JWT}"
    headers = {"Authorization": f"Bearer {JWT}", "X-Stream-Key": STREAM_KEY, "rtmp": f"live/{STREAM_KEY}"}
    stripe = f"stripe said no to {STRIPE_KEY}"
    raise ValueError(f"checkout failed for {note} ({phone_number}, {headers}, {stripe})")


def test_an_error_report_arrives_without_phone_id_number_token_key_or_email(sentry):
    sentry_sdk.add_breadcrumb(message=f"otp sent to {PHONE}", category="sms")
    try:
        _fail_with_personal_data_around()
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.capture_message(f"verification submitted with id_number {EMIRATES_ID}")
    sentry_sdk.flush(timeout=5)

    envelopes = b"\n".join(sentry).decode()
    assert "ValueError" in envelopes and "_fail_with_personal_data_around" in envelopes  # it did arrive
    assert "verification submitted" in envelopes
    for secret in (PHONE, "501234567", EMIRATES_ID, JWT, STREAM_KEY, STRIPE_KEY, EMAIL):
        assert secret not in envelopes, secret
    events = [json.loads(line) for line in envelopes.splitlines() if line.startswith("{") and '"exception"' in line]
    frame_vars = [
        f.get("vars", {}) for e in events for v in e["exception"]["values"] for f in v["stacktrace"]["frames"]
    ]
    assert any(v.get("phone_number") == "[Filtered]" for v in frame_vars)


@pytest.mark.parametrize(
    ("text", "kept"),
    [("order 12345678 of 2026-12-03T10:00:00", True), ("total AED 149.00", True), (f"call {PHONE}", False)],
)
def test_scrubbing_leaves_ordinary_numbers_and_times_alone(text, kept):
    assert (scrub_text(text) == text) is kept


def test_the_sdk_keeps_its_personal_data_defaults_and_its_own_scrubber(sentry):
    """Neither ``send_default_pii`` (deprecated) nor ``data_collection`` (which turns most
    categories on and the SDK's scrubber off) is set: no user, and the SDK scrubs too."""
    client = sentry_sdk.get_client()
    assert client.should_send_default_pii() is False
    assert client.options["data_collection"]["user_info"] is False
    assert client.options["data_collection"]["provided_by_user"] is False
    assert client.options["event_scrubber"] is not None
