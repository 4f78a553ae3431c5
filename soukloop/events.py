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
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
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
BatchSink = Callable[[list[Event]], None]

_sinks: dict[str, Sink] = {}
_batch_sinks: dict[str, BatchSink] = {}


def register_sink(name: str, sink: Sink, *, many: BatchSink | None = None) -> None:
    """Register (or replace, by name: ``ready()`` may run twice in tests) a delivery sink.
    ``many``, if given, takes the events of one ``publish_many`` at once (in order), so a sink
    can make one round trip for them instead of one each."""
    _sinks[name] = sink
    if many is None:
        _batch_sinks.pop(name, None)
    else:
        _batch_sinks[name] = many


def unregister_sink(name: str) -> None:
    _sinks.pop(name, None)
    _batch_sinks.pop(name, None)


_holding = threading.local()


@contextmanager
def deliveries_held() -> Iterator[list[Callable[[], None]]]:
    """Within the block, this thread's events that commit are not delivered at the commit but
    kept, in order, in the list it yields; the caller delivers them (``deliver_held``) when it
    chooses. A socket process answers a batch of bids first and then delivers the batch's
    events (realtime/relay.py): its bidders do not wait for the room's frames and the outbid
    notices. A rollback still delivers nothing: only committed events are kept."""
    outer = getattr(_holding, "kept", None)
    kept: list[Callable[[], None]] = []
    _holding.kept = kept
    try:
        yield kept
    finally:
        _holding.kept = outer


def deliver_held(kept: list[Callable[[], None]]) -> None:
    """Deliver what ``deliveries_held`` kept, in order."""
    for deliver in kept:
        deliver()


def _on_commit(deliver: Callable[[], None], using: str | None) -> None:
    def committed() -> None:
        kept = getattr(_holding, "kept", None)
        if kept is None:
            deliver()
        else:
            kept.append(deliver)

    transaction.on_commit(committed, using=using)


def publish(event_type: str, *, channel: str | None, data: Mapping[str, Any], using: str | None = None) -> None:
    """Deliver ``event_type`` to every sink once the current transaction commits.

    Outside a transaction it is delivered at once. Events published in one transaction are
    delivered in the order they were published.
    """
    payload = dict(data)
    _on_commit(lambda: dispatch(Event(event_type, channel, payload, timezone.now())), using)


def publish_many(items: Iterable[tuple[str, str | None, Mapping[str, Any]]], *, using: str | None = None) -> None:
    """``publish`` for several ``(event_type, channel, data)`` that happen together (a batch of
    bids: the lot's new price and everyone it outbid): delivered in this order once the
    transaction commits, to each sink as one batch where the sink takes batches."""
    payloads = [(event_type, channel, dict(data)) for event_type, channel, data in items]
    if not payloads:
        return

    def deliver() -> None:
        at = timezone.now()
        dispatch_many([Event(event_type, channel, data, at) for event_type, channel, data in payloads])

    _on_commit(deliver, using)


def dispatch(event: Event) -> None:
    """Hand one committed event to every sink; a failing sink is logged, never raised."""
    for name, sink in list(_sinks.items()):
        try:
            sink(event)
        except Exception:
            logger.exception("event sink failed", extra={"sink": name, "event_type": event.type})


def dispatch_many(batch: list[Event]) -> None:
    """Hand committed events to every sink, in order: as one batch to a sink that takes
    batches (if it fails, the rest of the batch is lost to that sink, logged), else one by one
    (a failing event is logged and the next one still goes)."""
    for name, sink in list(_sinks.items()):
        many = _batch_sinks.get(name)
        if many is not None:
            try:
                many(batch)
            except Exception:
                logger.exception("event sink failed", extra={"sink": name, "event_type": batch[0].type})
            continue
        for event in batch:
            try:
                sink(event)
            except Exception:
                logger.exception("event sink failed", extra={"sink": name, "event_type": event.type})
