"""Domain events: the one small function domain apps call to say that something happened.

Domain apps (accounts, catalog, messaging, payments, streams, ...) call
``publish("offer.updated", channel=f"user:{buyer_id}", data={...})`` inside their service.
Nothing leaves the process until the surrounding transaction commits: a rollback publishes
nothing. The delivery layers (``realtime`` fans events out to sockets, ``notifications``
turns them into inbox rows, pushes and SMS) register a *sink* in their ``AppConfig.ready()``
and are the only ones who know about sockets or providers; the kernel knows none of them.

A sink that fails is logged and does not stop the others, nor the request that committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """What happened (``type``), where it is delivered (``channel``: ``user:<id>``,
    ``conversation:<id>``, ``stream:<id>``, or ``None`` for events no socket shows) and the
    JSON-serialisable ``data``. ``at`` is when the publishing transaction committed."""

    type: str
    channel: str | None
    data: Mapping[str, Any]
    at: Any = field(default_factory=timezone.now)


Sink = Callable[[Event], None]

_sinks: dict[str, Sink] = {}


def register_sink(name: str, sink: Sink) -> None:
    """Register (or replace, by name: ``ready()`` may run twice in tests) a delivery sink."""
    _sinks[name] = sink


def unregister_sink(name: str) -> None:
    _sinks.pop(name, None)


def publish(event_type: str, *, channel: str | None, data: Mapping[str, Any], using: str | None = None) -> None:
    """Deliver ``event_type`` to every sink once the current transaction commits.

    Outside a transaction it is delivered at once. Events published in one transaction are
    delivered in the order they were published.
    """
    payload = dict(data)
    transaction.on_commit(lambda: dispatch(Event(event_type, channel, payload, timezone.now())), using=using)


def dispatch(event: Event) -> None:
    """Hand one committed event to every sink; a failing sink is logged, never raised."""
    for name, sink in list(_sinks.items()):
        try:
            sink(event)
        except Exception:
            logger.exception("event sink failed", extra={"sink": name, "event_type": event.type})
