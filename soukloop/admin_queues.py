"""The moderators' queues, registered by each app's ``admin.py`` so the admin index can show
them first with their pending counts without the kernel importing the apps above it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Queue:
    label: str | Promise
    url_name: str  # e.g. "admin:verification_verification_changelist"
    permission: str  # who sees it, e.g. "verification.view_verification"
    pending: Callable[[], int]
    query: str = ""  # appended to the URL (a list filter), e.g. "status__exact=pending"
    order: int = 100


_queues: dict[str, Queue] = {}


def register(queue: Queue) -> None:
    _queues[queue.url_name] = queue


def queues() -> list[Queue]:
    return sorted(_queues.values(), key=lambda q: q.order)
