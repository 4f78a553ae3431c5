"""Outgoing SMS through a backend chosen by ``SMS_BACKEND``, the way Django does email.

Backends: ``FileSMSBackend`` (development default: one file per message under
``SMS_FILE_PATH``), ``ConsoleSMSBackend``, ``LocmemSMSBackend`` (tests: ``accounts.sms.outbox``)
and ``TwilioSMSBackend`` (Twilio's Messages API through the official client). A provider
backend subclasses ``BaseSMSBackend`` and is named in settings; no view changes.
"""

from __future__ import annotations

import datetime
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str
    sender: str = field(default_factory=lambda: settings.SMS_SENDER_ID)


outbox: list[SMSMessage] = []


class BaseSMSBackend:
    def send(self, message: SMSMessage) -> str | None:
        """Send one message; a provider backend returns its id for the message."""
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    def send(self, message: SMSMessage) -> None:
        sys.stdout.write(f"SMS to {message.to} from {message.sender}:\n{message.body}\n{'-' * 40}\n")


class FileSMSBackend(BaseSMSBackend):
    """One file per message, named like Django's file email backend."""

    _lock = threading.Lock()

    def send(self, message: SMSMessage) -> None:
        directory = Path(settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        path = directory / f"{stamp}-{uuid.uuid4().hex[:12]}.sms"
        with self._lock:
            path.write_text(f"To: {message.to}\nFrom: {message.sender}\n\n{message.body}\n", encoding="utf-8")


class LocmemSMSBackend(BaseSMSBackend):
    def send(self, message: SMSMessage) -> None:
        outbox.append(message)


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str) -> str | None:
    """Send now (workers call this; services enqueue ``accounts.tasks.send_sms`` after commit)."""
    return get_sms_backend().send(SMSMessage(to=to, body=body))


class SMSError(Exception):
    """The provider refused or failed; worth another attempt later."""


class TwilioSMSBackend(BaseSMSBackend):
    """Twilio's Messages API through the official ``twilio`` client: ``TWILIO_ACCOUNT_SID``,
    ``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM`` (or ``TWILIO_MESSAGING_SERVICE_SID``). Twilio
    posts delivery statuses to ``TWILIO_STATUS_CALLBACK_URL``, signed with the auth token
    (``/api/v1/notifications/sms/status/`` checks the signature). Returns the message SID."""

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
            raise SMSError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT_SECONDS),
        )
        if settings.TWILIO_API_BASE:  # the tests' stand-in; production talks to api.twilio.com
            self.client.api.base_url = settings.TWILIO_API_BASE

    def send(self, message: SMSMessage) -> str:
        from requests import RequestException
        from twilio.base.exceptions import TwilioException

        options: dict[str, str] = {"to": message.to, "body": message.body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            options["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            options["from_"] = settings.TWILIO_FROM
        if settings.TWILIO_STATUS_CALLBACK_URL:
            options["status_callback"] = settings.TWILIO_STATUS_CALLBACK_URL
        try:
            sent = self.client.messages.create(**options)
        except TwilioException as exc:
            # The error code only: the body may carry a one-time code, the number is personal.
            raise SMSError(f"Twilio refused the message ({getattr(exc, 'code', None) or type(exc).__name__})") from exc
        except RequestException as exc:  # unreachable, or no answer within SMS_TIMEOUT_SECONDS
            raise SMSError(f"Twilio could not be reached ({type(exc).__name__})") from exc
        return str(sent.sid)
