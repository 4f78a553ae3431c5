"""Outgoing SMS through a backend chosen by ``SMS_BACKEND``, the way Django does email.

Backends: ``FileSMSBackend`` (development default: one file per message under
``SMS_FILE_PATH``), ``ConsoleSMSBackend``, ``LocmemSMSBackend`` (tests: ``accounts.sms.outbox``).
A provider backend subclasses ``BaseSMSBackend`` and is named in settings; no view changes.
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
    def send(self, message: SMSMessage) -> None:
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


def send_sms(*, to: str, body: str) -> None:
    """Send now. Callers inside a transaction wrap this in ``transaction.on_commit``."""
    get_sms_backend().send(SMSMessage(to=to, body=body))
