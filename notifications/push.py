"""Push backends, chosen by ``PUSH_BACKEND`` the way Django chooses an email backend.

``FilePushBackend`` (development default: one JSON file per push under ``PUSH_FILE_PATH``),
``ConsolePushBackend``, ``LocmemPushBackend`` (tests: ``notifications.push.outbox``) and
``notifications.fcm.FCMPushBackend`` (Firebase Cloud Messaging HTTP v1). A backend sends one
push to one device and returns the provider's id for it; ``TokenGone`` tells the caller to
forget the device, any other exception is retried.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

PREVIEW_CHARS = 120


class TokenGone(Exception):
    """The provider says this device token is no longer registered."""


@dataclass(frozen=True)
class PushMessage:
    token: str
    platform: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


outbox: list[PushMessage] = []


class BasePushBackend:
    def send(self, message: PushMessage) -> str:
        raise NotImplementedError


class ConsolePushBackend(BasePushBackend):
    def send(self, message: PushMessage) -> str:
        sys.stdout.write(f"PUSH to {message.platform} device: {message.title}\n")
        return ""


class FilePushBackend(BasePushBackend):
    """One JSON file per push, named like Django's file email backend."""

    _lock = threading.Lock()

    def send(self, message: PushMessage) -> str:
        directory = Path(settings.PUSH_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            (directory / f"{name}.json").write_text(json.dumps(asdict(message), ensure_ascii=False), encoding="utf-8")
        return name


class LocmemPushBackend(BasePushBackend):
    def send(self, message: PushMessage) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"


def get_push_backend() -> BasePushBackend:
    return import_string(settings.PUSH_BACKEND)()


def preview(text: str) -> str:
    """One line of at most ``PREVIEW_CHARS`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def as_push_data(data: dict[str, Any]) -> dict[str, str]:
    """FCM's ``data`` holds strings only."""
    return {key: "" if value is None else str(value) for key, value in data.items()}
