"""Run callables at the same instant on real threads, each with its own DB connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

# Tests that hold dozens of database connections at once (races with tens of threads, a live
# ASGI server). Under `pytest -n N --dist loadgroup` (`make test`) they share one worker and so
# never run at the same time as each other: together they would pass max_connections = 100.
CONNECTION_HUNGRY = pytest.mark.xdist_group("connection_hungry")


def run_together(calls: list[Callable[[], object]], *, timeout: float = 60) -> list[object]:
    """Start every call at once (a barrier) and return, in order, each one's result or the
    exception it raised, so a test can assert on 409s and crashes alike."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as exc:  # the outcome under test, e.g. Conflict
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
