"""SMS through Twilio's official client against a strict local stand-in: OTPs in the person's
language, failures that leak nothing, and signed delivery reports."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from accounts.models import User
from notifications.models import Channel, Delivery, Kind
from notifications.services import notify_users
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEND_OTP_URL = "/api/v1/auth/send-otp/"
STATUS_URL = "/api/v1/notifications/sms/status/"


def _send_otp(api_client, django_capture_on_commit_callbacks, phone):
    with django_capture_on_commit_callbacks(execute=True):
        return api_client.post(SEND_OTP_URL, {"phone": phone}, format="json")


def test_an_otp_goes_through_twilio_exactly_once_with_the_accounts_credentials(
    api_client, fake_twilio, django_capture_on_commit_callbacks
):
    UserFactory(phone="+971501112233", is_verified=False)

    response = _send_otp(api_client, django_capture_on_commit_callbacks, "+971501112233")

    assert response.status_code == 202
    (request,) = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    (sent,) = fake_twilio.sent
    assert sent["To"] == "+971501112233"
    assert sent["From"] == "+971500000000"
    assert sent["StatusCallback"] == "https://api.soukloop.test/api/v1/notifications/sms/status/"
    assert "Your Souk Loop code is" in sent["Body"]


def test_an_arabic_speaker_gets_the_code_in_arabic(api_client, fake_twilio, django_capture_on_commit_callbacks):
    UserFactory(phone="+971501112244", is_verified=False, language="ar")

    _send_otp(api_client, django_capture_on_commit_callbacks, "+971501112244")

    (sent,) = fake_twilio.sent
    assert "Souk Loop" not in sent["Body"].split(" ")[0]
    assert any("\u0600" <= char <= "\u06ff" for char in sent["Body"])


def test_a_messaging_service_replaces_the_from_number(
    api_client, fake_twilio, settings, django_capture_on_commit_callbacks
):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    UserFactory(phone="+971501112255", is_verified=False)

    _send_otp(api_client, django_capture_on_commit_callbacks, "+971501112255")

    (sent,) = fake_twilio.sent
    assert sent["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID
    assert "From" not in sent


def test_twilio_down_logs_neither_the_number_nor_the_code(
    api_client, fake_twilio, django_capture_on_commit_callbacks, caplog
):
    fake_twilio.fail_next = 10
    UserFactory(phone="+971501112266", is_verified=False)

    with caplog.at_level(logging.WARNING):
        response = _send_otp(api_client, django_capture_on_commit_callbacks, "+971501112266")

    # the person is told the code is on its way (they can ask again); the log says why it is not
    assert response.status_code == 202
    assert fake_twilio.sent == []
    assert "background work failed" in caplog.text
    assert "501112266" not in caplog.text
    assert not re.search(r"\b\d{6}\b", caplog.text)  # no one-time code


def test_wrong_credentials_are_refused_by_the_stand_in_as_by_twilio(api_client, fake_twilio, settings):
    from accounts.sms import SMSError, SMSMessage, TwilioSMSBackend

    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(SMSError, match="20003"):
        TwilioSMSBackend().send(SMSMessage(to="+971501112277", body="hello"))


def _sms_delivery(user: User, capture) -> Delivery:
    from notifications.services import preferences_update

    preferences_update(user=user, channels={Kind.PAYOUT_RELEASED: {"sms": True}})
    with capture(execute=True):
        notify_users(user_ids=[user.pk], kind=Kind.PAYOUT_RELEASED, texts=lambda: ("Payout", "AED 100"), data={})
    return Delivery.objects.get(notification__user=user, channel=Channel.SMS)


def test_a_signed_delivery_report_is_recorded(api_client, fake_twilio, settings, django_capture_on_commit_callbacks):
    delivery = _sms_delivery(UserFactory(), django_capture_on_commit_callbacks)
    assert delivery.status == "sent" and delivery.provider_id.startswith("SM")
    params = {"MessageSid": delivery.provider_id, "MessageStatus": "delivered", "AccountSid": fake_twilio.account_sid}

    response = api_client.post(
        STATUS_URL,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=RequestValidator(fake_twilio.auth_token).compute_signature(
            settings.TWILIO_STATUS_CALLBACK_URL, params
        ),
    )

    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.provider_status == "delivered"


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_an_unsigned_or_forged_report_is_refused(
    api_client, fake_twilio, signature, django_capture_on_commit_callbacks
):
    delivery = _sms_delivery(UserFactory(), django_capture_on_commit_callbacks)
    params = {"MessageSid": delivery.provider_id, "MessageStatus": "failed"}

    response = api_client.post(
        STATUS_URL,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.provider_status == ""


def test_twilio_not_answering_is_an_sms_error_after_the_timeout(settings):
    """A server that takes the connection and never answers: the client gives up after
    SMS_TIMEOUT_SECONDS (its own default is to wait for ever) and the caller gets an SMSError."""
    import socket
    import threading
    import time

    from accounts.sms import SMSError, SMSMessage, TwilioSMSBackend

    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    settings.SMS_BACKEND = "accounts.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "twilio-test-token"
    settings.TWILIO_FROM, settings.TWILIO_MESSAGING_SERVICE_SID = "+971500000000", ""
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings.SMS_TIMEOUT_SECONDS = 1
    try:
        started = time.monotonic()
        with pytest.raises(SMSError, match="could not be reached"):
            TwilioSMSBackend().send(SMSMessage(to="+971501112288", body="hello"))
        assert time.monotonic() - started < 5
    finally:
        for conn in held:
            conn.close()
        silent.close()
