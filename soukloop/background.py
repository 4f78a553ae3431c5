"""Work that must not hold up the request that caused it (an email whose sending time would
tell the caller whether an account exists): run after commit on a small per-process thread
pool. ``BACKGROUND_EAGER`` (tests) runs it inline instead. Failures are logged, never raised
into the request. A queue with retries (Celery) is the place for work that must survive a
restart; this is for best-effort messages the user can ask for again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="soukloop-background")


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("background work failed", extra={"task": getattr(fn, "__name__", "?")})
    finally:
        if not settings.BACKGROUND_EAGER:
            close_old_connections()


def run_after_commit(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` once the current transaction commits, off the request thread."""

    def submit() -> None:
        if settings.BACKGROUND_EAGER:
            _run(fn, args)
        else:
            _pool.submit(_run, fn, args)

    transaction.on_commit(submit)
