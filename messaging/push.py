"""Push notifications through a backend chosen by ``PUSH_BACKEND``, the way Django does email.

Services call :func:`notify` (after commit, see :func:`notify_on_commit`) for every new
message and offer transition; a provider backend (FCM, APNs) subclasses
:class:`BasePushBackend` and is named in settings, with no change to the services.

Backends: ``FilePushBackend`` (development default: one JSON file per notification under
``PUSH_FILE_PATH``), ``ConsolePushBackend``, ``LocmemPushBackend`` (tests: ``push.outbox``).
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 120


@dataclass(frozen=True)
class PushNotification:
    user_id: str
    kind: str  # "message" | "offer"
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


outbox: list[PushNotification] = []


class BasePushBackend:
    def send(self, notification: PushNotification) -> None:
        raise NotImplementedError


class ConsolePushBackend(BasePushBackend):
    def send(self, notification: PushNotification) -> None:
        sys.stdout.write(f"PUSH to {notification.user_id} [{notification.kind}] {notification.title}\n")


class FilePushBackend(BasePushBackend):
    """One JSON file per notification, named like Django's file email backend."""

    _lock = threading.Lock()

    def send(self, notification: PushNotification) -> None:
        directory = Path(settings.PUSH_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        path = directory / f"{stamp}-{uuid.uuid4().hex[:12]}.json"
        with self._lock:
            path.write_text(json.dumps(asdict(notification), ensure_ascii=False, default=str), encoding="utf-8")


class LocmemPushBackend(BasePushBackend):
    def send(self, notification: PushNotification) -> None:
        outbox.append(notification)


def get_push_backend() -> BasePushBackend:
    return import_string(settings.PUSH_BACKEND)()


def preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def notify(*, user_id: Any, kind: str, title: str, body: str, data: dict[str, Any] | None = None) -> None:
    """Send one notification now. A failing provider never breaks the request that caused it."""
    notification = PushNotification(user_id=str(user_id), kind=kind, title=title, body=body, data=data or {})
    try:
        get_push_backend().send(notification)
    except Exception:
        # Only the kind and a recipient id: no message content or personal data in logs.
        logger.exception("push notification failed (kind=%s, user=%s)", kind, notification.user_id)


def notify_on_commit(*, user_id: Any, kind: str, title: str, body: str, data: dict[str, Any] | None = None) -> None:
    """Queue :func:`notify` for after the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: notify(user_id=user_id, kind=kind, title=title, body=body, data=data))
