"""Work that must not hold up the request that caused it (an SMS, an email whose sending time
would tell the caller whether an account exists): a Celery task enqueued after commit.

``run_after_commit(task, *args)`` enqueues ``task`` (a Celery task, JSON arguments) once the
transaction commits, and nothing if it rolls back. Where it runs:

- a broker is configured (``CELERY_BROKER_URL``): on a worker; if the broker is down, on this
  process's small thread pool instead, so the message still goes (and the request still
  answers at once);
- no broker (the embedded default, tasks eager): on the thread pool, off the request thread;
- ``BACKGROUND_EAGER`` (tests): inline, so tests see the effect.

Failures on the pool are logged, never raised into the request. Work that must survive a
restart and be retried until it is delivered keeps its own outbox row (notifications).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What enqueueing raises when the broker cannot be reached.
BROKER_DOWN: tuple[type[Exception], ...] = (BrokerOperationalError, RedisError, OSError)

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="soukloop-background")


def _run(task: Any, args: tuple[Any, ...]) -> None:
    try:
        task.run(*args)
    except Exception:
        logger.exception("background work failed", extra={"task": getattr(task, "name", "?")})
    finally:
        if not settings.BACKGROUND_EAGER:
            close_old_connections()


def enqueue(task: Any, *args: Any) -> None:
    """Enqueue now (callers outside a transaction, or already after commit)."""
    if settings.BACKGROUND_EAGER:
        _run(task, args)
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _pool.submit(_run, task, args)
        return
    try:
        task.apply_async(args=args)
    except BROKER_DOWN:
        logger.warning("broker unreachable: running the task in this process", extra={"task": task.name})
        _pool.submit(_run, task, args)


def run_after_commit(task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` once the current transaction commits (nothing on rollback)."""
    transaction.on_commit(lambda: enqueue(task, *args))
