from __future__ import annotations

import re

import pytest

from notifications.testing.stand_ins import FakeFCM, FakeTwilio, service_account_file


@pytest.fixture
def fake_twilio(httpserver, settings) -> FakeTwilio:
    """The real twilio client, pointed at a local stand-in."""
    fake = FakeTwilio(account_sid="AC" + "1" * 32, auth_token="twilio-test-token")
    httpserver.expect_request(re.compile("^/2010-04-01/")).respond_with_handler(fake)
    settings.SMS_BACKEND = "accounts.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = fake.account_sid, fake.auth_token
    settings.TWILIO_FROM = "+971500000000"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.TWILIO_STATUS_CALLBACK_URL = "https://api.soukloop.test/api/v1/notifications/sms/status/"
    return fake


@pytest.fixture
def fake_fcm(httpserver, settings, tmp_path) -> FakeFCM:
    """The FCM HTTP v1 backend (google-auth for the OAuth token), pointed at a local stand-in."""
    from notifications import fcm

    fcm._credentials.cache_clear()
    token_uri = httpserver.url_for("/token")
    key_file = tmp_path / "service-account.json"
    public_key = service_account_file(key_file, token_uri=token_uri)
    fake = FakeFCM(public_key=public_key, token_uri=token_uri)
    httpserver.expect_request(re.compile("^/(token|v1/)")).respond_with_handler(fake)
    settings.PUSH_BACKEND = "notifications.fcm.FCMPushBackend"
    settings.FCM_SERVICE_ACCOUNT_FILE = str(key_file)
    settings.FCM_PROJECT_ID = ""
    settings.FCM_API_BASE = httpserver.url_for("/").rstrip("/")
    yield fake
    fcm._credentials.cache_clear()
